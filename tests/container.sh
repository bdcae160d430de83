#!/usr/bin/env bash
# Builds the project's Dockerfile and checks the container as a user would: it answers its health
# check, runs as a non-root user, and serves an app in which headless Chromium trains a model.
# No Docker engine runs here, so it uses podman through ../shared/tools/podman (see its header);
# set PODMAN to use another podman or docker-compatible client.
set -euo pipefail
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-../shared/tools/podman}
BASE=${NNVIZ_BASE_IMAGE:-localhost/debian-python:bookworm}
PORT=${NNVIZ_CONTAINER_PORT:-18501}
NAME=nnviz-check-$$
ARTIFACTS=test-artifacts/container
mkdir -p "$ARTIFACTS"

echo "container: building the image (cached layers make later builds quick)"
"$PODMAN" build --format docker --network host --build-arg "BASE=$BASE" -t nnviz:check . >"$ARTIFACTS/build.log" 2>&1 \
  || { tail -40 "$ARTIFACTS/build.log"; echo "container: build failed"; exit 1; }

cleanup() { "$PODMAN" logs "$NAME" >"$ARTIFACTS/server.log" 2>&1 || true; "$PODMAN" rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# Host networking: no port mapping is possible here; a port of its own keeps a developer's app undisturbed.
"$PODMAN" run -d --init --network host -e "STREAMLIT_SERVER_PORT=$PORT" --name "$NAME" nnviz:check >/dev/null

echo "container: waiting for /_stcore/health"
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/_stcore/health" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/_stcore/health" | grep -qx ok || { echo "container: never became healthy"; exit 1; }

uid=$("$PODMAN" exec "$NAME" id -u)
[ "$uid" != 0 ] || { echo "container: the app runs as root"; exit 1; }
echo "container: the app runs as uid $uid"
"$PODMAN" healthcheck run "$NAME" || { echo "container: the image's HEALTHCHECK failed"; exit 1; }

python tests/container_check.py "http://127.0.0.1:$PORT" "$ARTIFACTS"
echo "container: passed"
