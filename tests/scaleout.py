"""Scale-out proof: nnviz replicas behind HAProxy with cookie affinity, and one replica killed mid-run.

    python tests/scaleout.py                                   # 3 replicas, 30 users, one killed
    python tests/scaleout.py --replicas 2 --users 10           # CI's short version (tests/test_scaleout.py)
    python tests/scaleout.py --no-kill                         # affinity only
    python tests/scaleout.py --local                           # replicas as local `streamlit run`s, no podman

The replicas are the project's image run with podman (``../shared/tools/podman``; host networking,
each on a port of its own via STREAMLIT_SERVER_PORT, read-only root file system with a tmpfs /tmp as
deploy/k8s runs it). HAProxy runs on the host with ``deploy/haproxy.cfg`` itself: only the two lines
marked "host run" (the listening port, and the server list that compose finds through Docker's DNS)
are replaced, so the cookie, timeouts, health checks and balancing are the ones compose uses.

Each simulated user speaks Streamlit's own protocol, as a browser tab does: it loads the page
(``GET /``, ``/_stcore/host-config``) and opens the websocket ``/_stcore/stream`` with the cookies
it was given (HAProxy's replica cookie and the app's ``nnviz_token``), sends ``rerun_script`` with
the address's query and changes the Seed widget a few times, checking each time that the app wrote
the new seed into the address; then it reloads (a new page load and websocket) and goes on, three
visits in all. Every response names the replica that served it (HAProxy adds ``X-Replica``), so the
replicas each user saw are counted. Midway one replica is killed: its users' websockets close, they
reconnect as the browser does, and must get the app back from another replica with their setup (the
seed from the address) and the note that their model has to be trained again. Everyone else must
see nothing. The run fails (exit 1) on any other error. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

# A tab's websocket lives across many calls here, as in a browser, not in one with-block.
warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager")

REPO = Path(__file__).resolve().parents[1]
HAPROXY_CFG = REPO / "deploy" / "haproxy.cfg"
PODMAN = os.environ.get("PODMAN", str(REPO.parent / "shared" / "tools" / "podman"))
IMAGE = os.environ.get("NNVIZ_IMAGE", "nnviz:scaleout")
BASE = os.environ.get("NNVIZ_BASE_IMAGE", "localhost/debian-python:bookworm")
ARTIFACTS = REPO / "test-artifacts" / "scaleout"
SILENCE_S = 60  # no message for this long is a failure
# What the app says when a browser's token is unknown to the replica it reached (nnviz/ui/persist.py).
RETRAIN_NOTE = "could not be restored"
_HOST_PORT = re.compile(r"^(\s*)bind \S+(\s+#\s*host run: port)$", re.M)
_HOST_SERVERS = re.compile(r"^(\s*)server-template .*#\s*host run: servers$", re.M)
_TOKEN = re.compile(r"nnviz_token=([A-Za-z0-9_-]{43})")


def host_haproxy_config(text: str, lb_port: int, replica_ports: list[int]) -> str:
    """``deploy/haproxy.cfg`` for HAProxy on this host: listen on 127.0.0.1:lb_port and balance over
    replicas on 127.0.0.1. Only the two lines marked "host run" change."""
    if len(_HOST_PORT.findall(text)) != 1 or len(_HOST_SERVERS.findall(text)) != 1:
        raise ValueError(
            f"{HAPROXY_CFG} must have exactly one 'bind' line marked '# host run: port' and one "
            "'server-template' line marked '# host run: servers'; mark them again after an edit."
        )
    text = _HOST_PORT.sub(lambda m: f"{m.group(1)}bind 127.0.0.1:{lb_port}{m.group(2)}", text)
    servers = "\n".join(
        f"{{indent}}server app{i} 127.0.0.1:{port}  # host run: servers"
        for i, port in enumerate(replica_ports, 1)
    )
    return _HOST_SERVERS.sub(lambda m: servers.format(indent=m.group(1)), text)


# ---------------------------------------------------------------- one simulated browser tab


class Failure(Exception):
    """Something a user would see as broken."""


@dataclass
class User:
    n: int
    base: str  # http://127.0.0.1:port of the load balancer
    interactions: int
    visits: int
    think_s: tuple[float, float]
    cookies: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[float, str, str]] = field(default_factory=list)  # (time, replica, what)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings the app showed
    reconnects: list[dict] = field(default_factory=list)
    wire_s: list[float] = field(default_factory=list)
    query: str = ""
    seed: int = 0
    seed_id: str | None = None
    replica: str | None = None  # the replica this tab's websocket is on
    done: bool = False
    finished: float | None = None

    # HTTP ---------------------------------------------------------------
    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _take_cookies(self, headers) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value

    def get(self, path: str) -> None:
        """A page load. A 502/503 (the replica died during the request) is what a person reloads: so
        do we, and note it."""
        deadline = time.monotonic() + SILENCE_S
        while True:
            request = urllib.request.Request(self.base + path, headers={"Cookie": self._cookie_header()})
            try:
                with urllib.request.urlopen(request, timeout=SILENCE_S) as response:
                    response.read()
                    self._take_cookies(response.headers)
                    self.seen.append((time.time(), response.headers.get("X-Replica", "?"), f"GET {path}"))
                    return
            except urllib.error.HTTPError as exc:
                if exc.code not in (502, 503) or time.monotonic() > deadline:
                    raise Failure(f"GET {path}: HTTP {exc.code}") from exc
                self.reconnects.append({"on": f"GET {path}: HTTP {exc.code}, reloaded"})
                time.sleep(1)

    # websocket -------------------------------------------------------------
    def open_socket(self):
        ws = connect(
            self.base.replace("http:", "ws:") + "/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers={"Cookie": self._cookie_header(), "Origin": self.base},
            max_size=2**27,
            open_timeout=SILENCE_S,
        )
        self._take_cookies(ws.response.headers)
        self.seen.append((time.time(), ws.response.headers.get("X-Replica", "?"), "websocket"))
        return ws

    def run(self, ws, widgets: list | None = None) -> dict:
        """One script run: send rerun_script, read until script_finished. Returns what the page showed."""
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = ""
        for widget in widgets or []:
            msg.rerun_script.widget_states.widgets.append(widget)
        start = time.monotonic()
        ws.send(msg.SerializeToString())
        shown = {"alerts": [], "seed_id": None, "query": None}
        while True:
            try:
                data = ws.recv(timeout=SILENCE_S)
            except TimeoutError:
                raise Failure(f"{SILENCE_S} s without a message from the server") from None
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "page_info_changed":
                shown["query"] = fwd.page_info_changed.query_string
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                etype = element.WhichOneof("type")
                if etype == "exception":
                    raise Failure(f"exception on the page: {element.exception.message[:200]}")
                if etype == "alert":
                    shown["alerts"].append(element.alert.body)
                elif etype == "html" and (token := _TOKEN.search(element.html.body)):
                    self.cookies["nnviz_token"] = token.group(1)  # what the page's script does
                elif etype == "number_input" and element.number_input.id.endswith("-w.seed"):
                    shown["seed_id"] = element.number_input.id
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the app reran itself (st.rerun): the page comes with the next run
                if fwd.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise Failure(
                        f"the script ended with {ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)}"
                    )
                self.wire_s.append(time.monotonic() - start)
                return shown

    def scenario(self, reconnect_s: float) -> None:
        """Three visits (page load, websocket, a few Seed changes, think time), reloading in between.
        A closed websocket is handled as the browser does: reconnect and run again with the address."""
        self.seed = 1000 + self.n
        self.query = f"dataset=moons&seed={self.seed}&points=300&noise=0.15&epochs=50&batch=16&val=0.2"
        try:
            self.get("/")
            for visit in range(self.visits):
                if visit:
                    self.get("/")  # a reload
                self.get("/_stcore/host-config")
                try:
                    ws = self.open_socket()
                except (OSError, InvalidHandshake) as exc:  # its replica died during the handshake
                    ws = self._reconnect(reconnect_s, because=f"{type(exc).__name__}: {exc}")
                step = 0
                while step <= self.interactions:
                    try:
                        self._step(ws, step, first_of_visit=(step == 0), after_reload=visit > 0)
                        step += 1
                        time.sleep(random.uniform(*self.think_s))
                    except ConnectionClosed:
                        ws = self._reconnect(reconnect_s, because="websocket closed")
                ws.close()
        except Failure as exc:
            self.failures.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else is a failure too, with its type
            self.failures.append(f"{type(exc).__name__}: {exc}")
        self.done, self.finished = True, time.time()

    def _step(self, ws, step: int, *, first_of_visit: bool, after_reload: bool) -> None:
        if first_of_visit:
            replica = self.seen[-1][1]  # the one that took the websocket
            shown = self.run(ws)
            self._check_setup(shown)
            note = [a for a in shown["alerts"] if RETRAIN_NOTE in a]
            if self.replica in (None, replica) and note:
                # Only a replica that never saw this browser's token may say so.
                raise Failure("the page says the model was lost although the same replica served it")
            if self.replica not in (None, replica):  # its replica died between two visits
                self.notes.extend(note)
                self.reconnects.append({"on": "reload", "note": bool(note), "seed": self.seed})
                if not note:
                    raise Failure(
                        "reloaded on another replica without the note that the model has to be trained again"
                    )
            self.replica = replica
            self.seed_id = shown["seed_id"]
            return
        if not self.seed_id:
            raise Failure("no Seed widget on the start page")
        widget = BackMsg().rerun_script.widget_states.widgets.add()
        widget.id = self.seed_id
        widget.int_value = self.seed + 1
        shown = self.run(ws, [widget])  # a change lost with its replica is made again on the next one
        self.seed += 1
        if shown["query"] is not None:
            self.query = shown["query"]
        self._check_setup(shown)

    def _check_setup(self, shown: dict) -> None:
        """The app wrote the expected seed into the address (or left the address as it was)."""
        query = shown["query"] if shown["query"] is not None else self.query
        got = parse_qs(query).get("seed", ["?"])[0]
        if got != str(self.seed):
            raise Failure(f"the address holds seed={got}, expected seed={self.seed}")

    def _reconnect(self, reconnect_s: float, *, because: str):
        """The websocket closed under us (its replica died): reconnect like the browser, with the same
        cookies, and run the page again with the address's setup."""
        closed = time.time()
        deadline = time.monotonic() + reconnect_s
        attempt = 0
        while True:
            attempt += 1
            try:
                ws = self.open_socket()
                shown = self.run(ws)
                break
            except (OSError, ConnectionClosed, InvalidHandshake) as exc:
                if time.monotonic() > deadline:
                    raise Failure(
                        f"no replica answered within {reconnect_s:g} s of the disconnect: {exc}"
                    ) from exc
                time.sleep(min(0.5 * attempt, 3))
        self._check_setup(shown)
        note = [a for a in shown["alerts"] if RETRAIN_NOTE in a]
        self.notes.extend(note)
        self.reconnects.append(
            {"on": because, "after_s": round(time.time() - closed, 2), "attempts": attempt,
             "note": bool(note), "seed": self.seed}
        )  # fmt: skip
        self.replica = self.seen[-1][1]
        if not note:
            raise Failure("back on another replica without the note that the model has to be trained again")
        self.seed_id = shown["seed_id"]
        return ws


# ---------------------------------------------------------------- replicas and the balancer


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replicas:
    """N app processes on 127.0.0.1: podman containers of the image, or local ``streamlit run``s."""

    def __init__(self, ports: list[int], *, local: bool, tag: str):
        self.ports, self.local, self.tag = ports, local, tag
        self.handles: list = []

    def name(self, i: int) -> str:
        return f"nnviz-scaleout-{self.tag}-{i + 1}"

    def start(self) -> None:
        for i, port in enumerate(self.ports):
            if self.local:
                sys.path.insert(0, str(REPO))
                from nnviz.bench import launch_app

                log = open(ARTIFACTS / f"replica{i + 1}.log", "w")  # noqa: SIM115 - lives with the process
                self.handles.append(launch_app(port, log=log))
            else:
                subprocess.run(
                    [PODMAN, "run", "-d", "--init", "--network", "host", "--read-only", "--tmpfs", "/tmp",
                     "-e", "MPLCONFIGDIR=/tmp/matplotlib", "-e", f"STREAMLIT_SERVER_PORT={port}", "--name", self.name(i), IMAGE],
                    check=True, stdout=subprocess.DEVNULL,
                )  # fmt: skip
                self.handles.append(self.name(i))

    def kill(self, i: int) -> None:
        if self.local:
            self.handles[i].kill()
        else:
            subprocess.run([PODMAN, "kill", self.name(i)], check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        for i, handle in enumerate(self.handles):
            if self.local:
                handle.kill()
            else:
                with open(ARTIFACTS / f"replica{i + 1}.log", "w") as log:
                    subprocess.run([PODMAN, "logs", handle], stdout=log, stderr=subprocess.STDOUT)
                subprocess.run(
                    [PODMAN, "rm", "-f", handle], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )


def wait_healthy(url: str, timeout_s: float) -> float:
    start = time.monotonic()
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout_s:
            raise RuntimeError(f"{url} was not healthy within {timeout_s:g} s")
        time.sleep(0.5)


def build_image() -> None:
    log = ARTIFACTS / "build.log"
    with open(log, "w") as out:
        done = subprocess.run(
            [PODMAN, "build", "--format", "docker", "--network", "host", "--build-arg", f"BASE={BASE}",
             "-t", IMAGE, "."],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"image build failed, see {log}")


# ---------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--arrive-s", type=float, default=5, help="users start over this many seconds")
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--interactions", type=int, default=3, help="Seed changes per visit")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 2.0), metavar=("MIN_S", "MAX_S"))
    parser.add_argument(
        "--kill-at", type=float, default=None, help="seconds after the first user (default: midway)"
    )
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--local", action="store_true", help="local streamlit processes instead of podman")
    parser.add_argument("--no-build", action="store_true", help="use the image as it is")
    parser.add_argument("--locust", type=int, default=0, help="also run tests/load with this many users")
    parser.add_argument("--reconnect-s", type=float, default=30, help="how long a user keeps reconnecting")
    args = parser.parse_args(argv)
    if args.replicas < 2 and not args.no_kill:
        parser.error("--replicas must be at least 2 to kill one and keep serving")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise SystemExit("scaleout: haproxy is not installed (apt-get install -y haproxy)")
    if not args.local and not args.no_build:
        t = time.monotonic()
        build_image()
        print(f"scaleout: image {IMAGE} built in {time.monotonic() - t:.0f} s", flush=True)

    lb_port, ports = free_port(), [free_port() for _ in range(args.replicas)]
    cfg = ARTIFACTS / "haproxy.host.cfg"
    cfg.write_text(host_haproxy_config(HAPROXY_CFG.read_text(), lb_port, ports))
    subprocess.run([haproxy, "-c", "-q", "-f", str(cfg)], check=True)
    replicas = Replicas(ports, local=args.local, tag=str(os.getpid()))
    lb_log = open(ARTIFACTS / "haproxy.log", "w")  # noqa: SIM115 - closed in finally
    lb = locust = None
    result: dict = {}
    try:
        t = time.monotonic()
        replicas.start()
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}", 180)
        startup_s = time.monotonic() - t
        lb = subprocess.Popen([haproxy, "-db", "-f", str(cfg)], stdout=lb_log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{lb_port}"
        wait_healthy(base, 30)
        time.sleep(7)  # HAProxy's checks mark every replica up (rise 2 × inter 3 s)
        print(f"scaleout: {args.replicas} replicas healthy in {startup_s:.0f} s behind {base}", flush=True)

        users = [User(n, base, args.interactions, args.visits, tuple(args.think)) for n in range(args.users)]
        scenario_s = args.visits * (args.interactions + 1) * sum(args.think) / 2
        kill_at = args.kill_at if args.kill_at is not None else (args.arrive_s + scenario_s) / 2
        locust = None
        if args.locust:
            # The project's Locust load test (tests/load) through the same balancer at the same time:
            # the whole teaching loop, every fifth user training.
            locust = subprocess.Popen(
                [sys.executable, "-m", "tests.load", "--users", str(args.locust), "--url", base,
                 "--label", "scaleout-locust"],
                cwd=REPO, stdout=open(ARTIFACTS / "locust.log", "w"), stderr=subprocess.STDOUT,
            )  # fmt: skip
        threads = [threading.Thread(target=u.scenario, args=(args.reconnect_s,), daemon=True) for u in users]
        t0 = time.time()
        for i, thread in enumerate(threads):
            thread.start()
            time.sleep(args.arrive_s / max(1, len(threads) - 1) if i < len(threads) - 1 else 0)
        killed_name, killed_at = None, None
        if not args.no_kill:
            time.sleep(max(0.0, t0 + kill_at - time.time()))
            # The replica serving the most users right now.
            current = [u.seen[-1][1] for u in users if u.seen and not u.done]
            killed_name = max(sorted(set(current)), key=current.count)
            killed_at = time.time()
            replicas.kill(int(killed_name.removeprefix("app")) - 1)
            print(f"scaleout: killed {killed_name} {killed_at - t0:.1f} s into the run", flush=True)
        for thread in threads:
            thread.join(timeout=600)
        duration = time.time() - t0

        if locust is not None:
            locust.wait(timeout=1800)
        result = report(users, args, killed_name, killed_at, duration, startup_s)
    finally:
        if locust is not None and locust.poll() is None:
            locust.kill()
        if lb is not None:
            lb.terminate()
            lb.wait(timeout=10)
        lb_log.close()
        replicas.stop()
    result["websocket_cookie_flags"] = websocket_cookie_flags((ARTIFACTS / "haproxy.log").read_text())
    if args.locust:
        summary = REPO / "test-artifacts" / "load" / "scaleout-locust.json"
        result["locust"] = json.loads(summary.read_text()) if summary.exists() else "no summary: see its log"
    print(json.dumps({k: result[k] for k in ("websocket_cookie_flags", "locust") if k in result}, indent=2))
    (ARTIFACTS / "result.json").write_text(json.dumps(result, indent=2))
    return result


def websocket_cookie_flags(log: str) -> dict[str, int]:
    """HAProxy's persistence-cookie verdict for every websocket it carried (its httplog's termination
    state, 3rd character): V = the request's NNVIZ_REPLICA named the replica that served it (affinity
    held), N = the request had no such cookie, D = it named a replica that was down (moved), I/E/O =
    invalid or expired."""
    flags: dict[str, int] = {}
    for line in log.splitlines():
        if '"GET /_stcore/stream' in line:
            state = next((w for w in line.split() if re.fullmatch(r"[-A-Za-z]{4}", w)), None)
            if state:
                flags[state[2]] = flags.get(state[2], 0) + 1
    return flags


def report(
    users: list[User], args, killed: str | None, killed_at: float | None, duration: float, startup_s: float
):
    def replicas_of(u: User) -> list[str]:
        out: list[str] = []
        for _, replica, _ in u.seen:
            if not out or out[-1] != replica:
                out.append(replica)
        return out

    # The killed replica's users: those on it when it died (a user already finished saw nothing).
    affected = [
        u for u in users if killed and killed in replicas_of(u) and (u.finished or float("inf")) > killed_at
    ]
    others = [u for u in users if u not in affected]
    problems: list[str] = []
    for u in others:
        if u.reconnects or u.notes:
            problems.append(f"user {u.n} of a replica that kept running saw {u.reconnects or u.notes}")
        if len(replicas_of(u)) != 1 and not (killed and replicas_of(u)[0] == killed):
            problems.append(f"user {u.n} moved between replicas {replicas_of(u)} without its replica failing")
    for u in affected:
        runs = replicas_of(u)
        if len(runs) != 2 or runs[0] != killed:
            problems.append(f"user {u.n} of the killed replica saw {runs}")
        if not u.reconnects:
            problems.append(f"user {u.n} of the killed replica never noticed it")
    for u in users:
        problems.extend(f"user {u.n}: {f}" for f in u.failures)
        if not u.done:
            problems.append(f"user {u.n} did not finish")

    per_replica: dict[str, int] = {}
    for u in users:
        first = replicas_of(u)[0] if u.seen else "?"
        per_replica[first] = per_replica.get(first, 0) + 1
    wire = [s for u in users for s in u.wire_s]
    back = [r["after_s"] for u in affected for r in u.reconnects if "after_s" in r]
    closed = [u for u in affected if any("after_s" in r for r in u.reconnects)]
    result = {
        "replicas": args.replicas,
        "users": len(users),
        "users_per_replica_at_start": per_replica,
        "requests_and_websockets": sum(len(u.seen) for u in users),
        "script_runs": len(wire),
        "replicas_seen_per_user": {
            str(k): sum(1 for u in users if len(set(r for _, r, _ in u.seen)) == k) for k in (1, 2, 3)
        },
        "killed": killed,
        "killed_replica_users": len(affected),
        "of_which_websocket_closed_or_refused": len(closed),
        "of_which_moved_on_reload": len(affected) - len(closed),
        "killed_replica_users_saw_note": sum(1 for u in affected if u.notes),
        "others_saw_note_or_disconnect": sum(1 for u in others if u.notes or u.reconnects),
        "back_after_s_p50_max": [round(statistics.median(back), 2), round(max(back), 2)] if back else None,
        "note_text": next((u.notes[0] for u in affected if u.notes), None),
        "wire_s_p50_p95": [round(percentile(wire, 0.5), 3), round(percentile(wire, 0.95), 3)],
        "replica_startup_s": round(startup_s, 1),
        "duration_s": round(duration, 1),
        "failures": problems,
    }
    print(json.dumps(result, indent=2))
    details = [
        {"user": u.n, "seen": [(round(t - u.seen[0][0], 2), r, what) for t, r, what in u.seen],
         "reconnects": u.reconnects, "failures": u.failures}
        for u in users
    ]  # fmt: skip
    (ARTIFACTS / "users.json").write_text(json.dumps(details, indent=1))
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(1 if outcome.get("failures") else 0)
