#!/usr/bin/env bash
# A second modern engine whose image store is containerd's ("features": {"containerd-snapshotter": true}): the
# store that holds multi-platform images, so `docker build --platform linux/amd64,linux/arm64` loads one manifest
# list. Same engine image as scripts/provision-modern-engine.sh (run that first), its own container, socket and
# tmpfs, so the first modern engine (classic store) is never touched. Loads the amd64 base (also tagged
# :bookworm-amd64) and the arm64 base, so a Dockerfile `FROM dib-test/debian:bookworm-${TARGETARCH}` builds for both.
# Writes $STATE_DIR/modern-containerd/env.json for the tests. Idempotent.
set -euo pipefail

STATE_DIR="${DIB_PROVISION_DIR:-/var/tmp/docker-image-builder-provision}"
DIR="$STATE_DIR/modern-containerd"
SOCK_DIR="$DIR/run"
SOCK="$SOCK_DIR/docker.sock"
DAEMON_JSON="$DIR/daemon.json"
# The buildx plugin the first modern engine's provisioning copied out of the engine image.
CONFIG_DIR="${DIB_MODERN_DOCKER_CONFIG:-$STATE_DIR/modern/docker-config}"
MODERN_SOCK="$STATE_DIR/modern/run/docker.sock"
ENGINE_IMAGE="${DIB_MODERN_ENGINE_IMAGE:-dib-test/modern-engine:trixie}"
ENGINE_NAME="${DIB_CONTAINERD_ENGINE_CONTAINER:-dib-containerd-engine}"
BASE_IMAGE="${DIB_TEST_BASE_IMAGE:-dib-test/debian:bookworm}"
ARM64_IMAGE="${DIB_TEST_ARM64_IMAGE:-dib-test/debian:bookworm-arm64}"
DOCKER="${DIB_DOCKER:-docker}"
HOST_DOCKER="${DIB_HOST_DOCKER:-/usr/bin/docker}"
[ -x "$HOST_DOCKER" ] || HOST_DOCKER="$DOCKER"
mkdir -p "$SOCK_DIR"

log() { printf '[provision-containerd] %s\n' "$*" >&2; }
host() { "$HOST_DOCKER" "$@"; }
engine() { DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" "$@"; }
modern() { DOCKER_HOST="unix://$MODERN_SOCK" DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" "$@"; }
answers() { timeout 10 env DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" info >/dev/null 2>&1; }

if ! host image inspect "$ENGINE_IMAGE" >/dev/null 2>&1 || [ ! -x "$CONFIG_DIR/cli-plugins/docker-buildx" ]; then
  log "$ENGINE_IMAGE or the buildx plugin is missing: run scripts/provision-modern-engine.sh first"
  exit 1
fi

printf '{ "features": { "containerd-snapshotter": true } }\n' >"$DAEMON_JSON"
if [ "$(host inspect -f '{{.State.Running}}' "$ENGINE_NAME" 2>/dev/null)" = "true" ] \
  && [ "$(host inspect -f '{{.Image}}' "$ENGINE_NAME")" = "$(host image inspect -f '{{.Id}}' "$ENGINE_IMAGE")" ] \
  && answers; then
  log "engine container $ENGINE_NAME already answers"
else
  host rm -f "$ENGINE_NAME" >/dev/null 2>&1 || true
  rm -f "$SOCK"
  log "starting $ENGINE_NAME (containerd image store; socket: $SOCK)"
  # The flags of the first modern engine (see provision-modern-engine.sh); containerd's own store is a tmpfs too.
  host run -d --name "$ENGINE_NAME" --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /var/lib/docker:exec --tmpfs /var/lib/containerd:exec \
    -v "$SOCK_DIR:/run/dind" -v "$DAEMON_JSON:/etc/docker/daemon.json:ro" --label dib.test=containerd-engine \
    "$ENGINE_IMAGE" dockerd --host unix:///run/dind/docker.sock >/dev/null
  for _ in $(seq 1 60); do
    answers && break
    sleep 1
  done
  if ! answers; then
    log "the engine did not answer within 60 s; its log follows"
    host logs --tail 60 "$ENGINE_NAME" >&2 || true
    exit 1
  fi
fi

store=$(engine info --format '{{.Driver}} {{json .DriverStatus}}')
case "$store" in
  *io.containerd.snapshotter*) log "image store: $store" ;;
  *) log "the engine did not start with the containerd image store: $store"; exit 1 ;;
esac

# load SOURCE_CLI IMAGE: copies IMAGE from another engine unless this one has it.
load() {
  local from="$1" image="$2"
  if engine image inspect "$image" >/dev/null 2>&1; then
    log "$image is loaded"
  elif $from image inspect "$image" >/dev/null 2>&1; then
    log "loading $image"
    $from save "$image" | engine load -q >/dev/null
  else
    log "$image is on no engine here: not loaded"
  fi
}
load host "$BASE_IMAGE"
engine tag "$BASE_IMAGE" "${BASE_IMAGE%:*}:bookworm-amd64" 2>/dev/null || true
# The arm64 base exists only on the first modern engine (the host engine's import drops the platform).
load modern "$ARM64_IMAGE"

server=$(engine version --format '{{.Server.Version}}')
cat >"$DIR/env.json" <<EOF
{
  "dockerHost": "unix://$SOCK",
  "dockerConfig": "$CONFIG_DIR",
  "engineContainer": "$ENGINE_NAME",
  "engineVersion": "$server",
  "imageStore": "containerd",
  "baseImage": "$BASE_IMAGE",
  "arm64Image": "$ARM64_IMAGE"
}
EOF
log "env: $DIR/env.json"
engine version --format 'Containerd-store engine {{.Server.Version}} (API {{.Server.APIVersion}}) ready' >&2
