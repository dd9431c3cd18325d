#!/usr/bin/env bash
# A second, modern engine for the tests: Docker 26 (BuildKit 0.13) + buildx 0.13 from Debian trixie, running as a
# container of the host engine that scripts/provision-docker.sh started (run that first). Also provides, on that
# engine's own loopback, two real registries (open, and with htpasswd logins), arm64 builds through QEMU, a docker
# context, and one env file the tests read (env.sh and env.json under $MODERN_DIR).
# Idempotent: reuses an engine that answers, the engine image and the debootstrap root file systems. The engine's
# image store is a tmpfs, so images are loaded again whenever the engine container is new.
set -euo pipefail

STATE_DIR="${DIB_PROVISION_DIR:-/var/tmp/docker-image-builder-provision}"
MODERN_DIR="$STATE_DIR/modern"
SOCK_DIR="$MODERN_DIR/run"
SOCK="$SOCK_DIR/docker.sock"
CONFIG_DIR="$MODERN_DIR/docker-config"
ENGINE_IMAGE="${DIB_MODERN_ENGINE_IMAGE:-dib-test/modern-engine:trixie}"
ENGINE_NAME="${DIB_MODERN_ENGINE_CONTAINER:-dib-modern-engine}"
CONTEXT_NAME="${DIB_MODERN_CONTEXT:-dib-modern}"
TRIXIE_BASE="${DIB_TEST_TORCH_BASE_IMAGE:-dib-test/debian:trixie}"
ARM64_IMAGE="${DIB_TEST_ARM64_IMAGE:-dib-test/debian:bookworm-arm64}"
# Images of the host engine the modern engine gets (space separated): what the end-to-end tests build from on both
# engines. The torch image (the FSDP build and smoke tests) is 1.7 GB of the engine's tmpfs; it is loaded from the
# host engine's copy (no second PyTorch download), and only again when the engine container is new.
LOAD_IMAGES="${DIB_MODERN_LOAD_IMAGES:-${DIB_TEST_BASE_IMAGE:-dib-test/debian:bookworm} ${DIB_TEST_PIP_IMAGE:-dib-test/python-pip:bookworm} ${DIB_TEST_TORCH_IMAGE:-dib-test/torch-cpu:trixie}}"
OPEN_REGISTRY=127.0.0.1:5000
AUTH_REGISTRY=127.0.0.1:5001
CREDENTIALS_FILE="$MODERN_DIR/registry-credentials.json"
ENV_SH="$MODERN_DIR/env.sh"
ENV_JSON="$MODERN_DIR/env.json"
# The CLI the product and the tests use talks to the modern engine; the host engine's own client (no buildx, no
# deprecation banner on a classic build) builds and runs the engine container.
DOCKER="${DIB_DOCKER:-docker}"
HOST_DOCKER="${DIB_HOST_DOCKER:-/usr/bin/docker}"
[ -x "$HOST_DOCKER" ] || HOST_DOCKER="$DOCKER"
# DIB_SKIP_ARM64=1: no arm64 base (its debootstrap runs under QEMU, minutes); the arm64 tests then skip, or fail
# under DIB_REQUIRE_DOCKER=1.
SKIP_ARM64="${DIB_SKIP_ARM64:-0}"
mkdir -p "$MODERN_DIR" "$SOCK_DIR" "$CONFIG_DIR/cli-plugins"

log() { printf '[provision-modern] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
now() { date +%s.%N; }
TIMINGS=()
T_START=$(now)
# step NAME FUNCTION: runs FUNCTION and records how long it took.
step() {
  local name="$1" t0
  shift
  t0=$(now)
  log "--- $name"
  "$@"
  TIMINGS+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%6.1f s", b - a }')  $name")
}

host() { "$HOST_DOCKER" "$@"; }
modern() { DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" "$@"; }
modern_answers() { timeout 10 env DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" info >/dev/null 2>&1; }
in_engine() { host exec "$ENGINE_NAME" "$@"; }

# The engine image's recipe; its hash is a label, so a changed recipe makes a new image.
engine_dockerfile() {
  cat <<EOF
FROM $TRIXIE_BASE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    docker.io docker-buildx docker-registry apache2-utils iptables ca-certificates curl \\
 && rm -rf /var/lib/apt/lists/*
EOF
}

host_packages() {
  if command -v update-binfmts >/dev/null && [ -x /usr/bin/qemu-aarch64-static ] && command -v debootstrap >/dev/null; then
    log "qemu-user-static, binfmt-support and debootstrap are installed"
    return
  fi
  log "installing qemu-user-static, binfmt-support, debootstrap"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq qemu-user-static binfmt-support debootstrap >/dev/null
}

binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    log "mounting binfmt_misc"
    as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  as_root update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    log "qemu-aarch64 is not registered with binfmt_misc"
    exit 1
  fi
  log "binfmt_misc: qemu-aarch64 $(grep '^flags' /proc/sys/fs/binfmt_misc/qemu-aarch64)"
}

engine_image() {
  local recipe
  recipe=$(engine_dockerfile | sha256sum | cut -c1-16)
  if [ "$(host image inspect -f '{{index .Config.Labels "dib.recipe"}}' "$ENGINE_IMAGE" 2>/dev/null)" = "$recipe" ]; then
    log "$ENGINE_IMAGE exists (recipe $recipe)"
    return
  fi
  if ! host image inspect "$TRIXIE_BASE" >/dev/null 2>&1; then
    log "$TRIXIE_BASE is missing: run scripts/provision-docker.sh first (without DIB_SKIP_TORCH_IMAGE=1)"
    exit 1
  fi
  log "building $ENGINE_IMAGE from $TRIXIE_BASE (Debian trixie's docker.io, docker-buildx, docker-registry)"
  engine_dockerfile | DOCKER_BUILDKIT=0 host build -q --label "dib.recipe=$recipe" -t "$ENGINE_IMAGE" - >/dev/null
}

start_engine() {
  if [ "$(host inspect -f '{{.State.Running}}' "$ENGINE_NAME" 2>/dev/null)" = "true" ] \
    && [ "$(host inspect -f '{{.Image}}' "$ENGINE_NAME")" = "$(host image inspect -f '{{.Id}}' "$ENGINE_IMAGE")" ] \
    && modern_answers; then
    log "engine container $ENGINE_NAME already answers"
    return
  fi
  host rm -f "$ENGINE_NAME" >/dev/null 2>&1 || true
  rm -f "$SOCK"
  log "starting $ENGINE_NAME (socket: $SOCK)"
  # --privileged is refused in this sandbox (no CAP_SYS_RESOURCE); these flags are what dockerd needs. The host has
  # cgroup v1, so the cgroup hierarchy is mounted in. The image store is a tmpfs.
  host run -d --name "$ENGINE_NAME" --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /var/lib/docker:exec \
    -v "$SOCK_DIR:/run/dind" --label dib.test=modern-engine \
    "$ENGINE_IMAGE" dockerd --host unix:///run/dind/docker.sock >/dev/null
  for _ in $(seq 1 60); do
    if modern_answers; then
      log "modern engine answers"
      return
    fi
    if [ "$(host inspect -f '{{.State.Running}}' "$ENGINE_NAME" 2>/dev/null)" != "true" ]; then break; fi
    sleep 1
  done
  log "the modern engine did not answer within 60 s; its log follows"
  host logs --tail 80 "$ENGINE_NAME" >&2 || true
  exit 1
}

buildx_plugin() {
  local stamp="$CONFIG_DIR/cli-plugins/.from-image" id
  id=$(host image inspect -f '{{.Id}}' "$ENGINE_IMAGE")
  if [ -x "$CONFIG_DIR/cli-plugins/docker-buildx" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$id" ]; then
    log "buildx plugin is in place"
  else
    local tmp
    tmp=$(host create "$ENGINE_IMAGE" true)
    host cp "$tmp:/usr/libexec/docker/cli-plugins/docker-buildx" "$CONFIG_DIR/cli-plugins/docker-buildx"
    host rm "$tmp" >/dev/null
    chmod 0755 "$CONFIG_DIR/cli-plugins/docker-buildx"
    printf '%s\n' "$id" >"$stamp"
  fi
  modern buildx version >&2
}

load_images() {
  local img
  for img in $LOAD_IMAGES; do
    if ! host image inspect "$img" >/dev/null 2>&1; then
      # e.g. the torch image after provision-docker.sh with DIB_SKIP_TORCH_IMAGE=1: the tests that need it fail.
      log "$img is not on the host engine: not loaded"
      continue
    fi
    if [ "$(modern image inspect -f '{{.Id}}' "$img" 2>/dev/null)" = "$(host image inspect -f '{{.Id}}' "$img")" ]; then
      log "$img is loaded"
      continue
    fi
    log "loading $img"
    host save "$img" | modern load -q >/dev/null
  done
}

credentials() {
  if [ ! -s "$CREDENTIALS_FILE" ]; then
    local password
    password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-24)
    (
      umask 077
      printf '{\n  "registry": "%s",\n  "username": "dib-test",\n  "password": "%s"\n}\n' "$AUTH_REGISTRY" "$password" \
        >"$CREDENTIALS_FILE"
    )
    log "registry login generated: $CREDENTIALS_FILE"
  fi
}

json_field() { sed -n "s/^ *\"$1\": *\"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$CREDENTIALS_FILE"; }

registry_answers() { in_engine curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/" 2>/dev/null; }

registries() {
  credentials
  if [ "$(registry_answers "$OPEN_REGISTRY")" != "200" ]; then
    log "starting the open registry on $OPEN_REGISTRY (inside $ENGINE_NAME)"
    in_engine sh -c "printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry-open\nhttp:\n  addr: $OPEN_REGISTRY\n' >/etc/registry-open.yml"
    host exec -d "$ENGINE_NAME" sh -c 'exec docker-registry serve /etc/registry-open.yml >/var/log/registry-open.log 2>&1'
  fi
  if [ "$(registry_answers "$AUTH_REGISTRY")" != "401" ]; then
    log "starting the registry with htpasswd logins on $AUTH_REGISTRY (inside $ENGINE_NAME)"
    in_engine mkdir -p /etc/registry-auth
    in_engine htpasswd -Bbc /etc/registry-auth/htpasswd "$(json_field username)" "$(json_field password)" 2>/dev/null
    in_engine sh -c "printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry-auth\nauth:\n  htpasswd:\n    realm: dib-test\n    path: /etc/registry-auth/htpasswd\nhttp:\n  addr: $AUTH_REGISTRY\n' >/etc/registry-auth.yml"
    host exec -d "$ENGINE_NAME" sh -c 'exec docker-registry serve /etc/registry-auth.yml >/var/log/registry-auth.log 2>&1'
  fi
  local want got addr
  for addr in "$OPEN_REGISTRY:200" "$AUTH_REGISTRY:401"; do
    want=${addr##*:}
    addr=${addr%:*}
    for _ in $(seq 1 30); do
      got=$(registry_answers "$addr" || true)
      [ "$got" = "$want" ] && break
      sleep 0.5
    done
    if [ "$got" != "$want" ]; then
      log "registry $addr answered '$got' to /v2/, expected $want"
      exit 1
    fi
    log "registry $addr answers /v2/ with $got"
  done
}

arm64_rootfs() {
  local rootfs="$STATE_DIR/rootfs-bookworm-arm64"
  if [ -x "$rootfs/bin/sh" ]; then
    log "arm64 rootfs is cached"
    return
  fi
  log "debootstrap --arch=arm64 --variant=minbase bookworm (a few minutes, through QEMU)"
  rm -rf "$rootfs"
  as_root debootstrap --arch=arm64 --variant=minbase bookworm "$rootfs" >"$STATE_DIR/debootstrap-bookworm-arm64.log" 2>&1 || {
    tail -n 40 "$STATE_DIR/debootstrap-bookworm-arm64.log" >&2
    exit 1
  }
  as_root rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
}

arm64_image() {
  if [ "$(modern image inspect -f '{{.Architecture}}' "$ARM64_IMAGE" 2>/dev/null)" = "arm64" ]; then
    log "$ARM64_IMAGE is loaded"
    return
  fi
  log "importing $ARM64_IMAGE"
  as_root tar -C "$STATE_DIR/rootfs-bookworm-arm64" -c . | modern import --platform linux/arm64 \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' - "$ARM64_IMAGE" >/dev/null
}

arm64_check() {
  local out
  # shellcheck disable=SC2016 # $(uname -m) is for the build's shell
  out=$(printf 'FROM %s\nRUN echo "machine=$(uname -m)"\n' "$ARM64_IMAGE" \
    | modern buildx build --platform linux/arm64 --progress=plain --no-cache - 2>&1) || {
    printf '%s\n' "$out" >&2
    exit 1
  }
  if ! grep -q 'machine=aarch64' <<<"$out"; then
    printf '%s\n' "$out" >&2
    log "an arm64 build did not run on aarch64"
    exit 1
  fi
  log "buildx --platform linux/arm64: uname -m = aarch64"
}

context() {
  if modern context inspect "$CONTEXT_NAME" >/dev/null 2>&1; then
    modern context update "$CONTEXT_NAME" --docker "host=unix://$SOCK" >/dev/null
  else
    modern context create "$CONTEXT_NAME" --description "modern engine (docker-image-builder tests)" \
      --docker "host=unix://$SOCK" >/dev/null
  fi
  DOCKER_CONFIG="$CONFIG_DIR" "$DOCKER" --context "$CONTEXT_NAME" version --format "context $CONTEXT_NAME: engine {{.Server.Version}}" >&2
}

env_file() {
  local server buildx images="$LOAD_IMAGES${ARM64_IMAGE:+ $ARM64_IMAGE}"
  server=$(modern version --format '{{.Server.Version}}')
  buildx=$(modern buildx version | awk '{ print $2 }')
  cat >"$ENV_SH" <<EOF
# Written by scripts/provision-modern-engine.sh: the modern engine the tests use.
export DIB_MODERN_DOCKER_HOST='unix://$SOCK'
export DIB_MODERN_DOCKER_CONFIG='$CONFIG_DIR'
export DIB_MODERN_CONTEXT='$CONTEXT_NAME'
export DIB_MODERN_ENGINE_CONTAINER='$ENGINE_NAME'
export DIB_MODERN_ENGINE_VERSION='$server'
export DIB_MODERN_BUILDX_VERSION='$buildx'
export DIB_MODERN_REGISTRY='$OPEN_REGISTRY'
export DIB_MODERN_AUTH_REGISTRY='$AUTH_REGISTRY'
export DIB_MODERN_REGISTRY_CREDENTIALS='$CREDENTIALS_FILE'
export DIB_MODERN_ARM64_IMAGE='$ARM64_IMAGE'
export DIB_MODERN_IMAGES='$images'
EOF
  cat >"$ENV_JSON" <<EOF
{
  "dockerHost": "unix://$SOCK",
  "dockerConfig": "$CONFIG_DIR",
  "context": "$CONTEXT_NAME",
  "engineContainer": "$ENGINE_NAME",
  "engineVersion": "$server",
  "buildxVersion": "$buildx",
  "registry": "$OPEN_REGISTRY",
  "authRegistry": "$AUTH_REGISTRY",
  "registryCredentials": "$CREDENTIALS_FILE",
  "arm64Image": "$ARM64_IMAGE",
  "images": "$images"
}
EOF
  log "env: $ENV_SH and $ENV_JSON"
}

if [ "$SKIP_ARM64" = "1" ]; then
  ARM64_IMAGE=""
  log "DIB_SKIP_ARM64=1: no QEMU, no arm64 image"
else
  step "host packages (qemu-user-static, binfmt-support)" host_packages
  step "binfmt_misc + qemu-aarch64" binfmt
fi
step "engine image $ENGINE_IMAGE" engine_image
step "engine container $ENGINE_NAME" start_engine
step "buildx plugin" buildx_plugin
step "load base images" load_images
step "registries" registries
if [ "$SKIP_ARM64" != "1" ]; then
  step "arm64 rootfs (debootstrap)" arm64_rootfs
  step "arm64 image" arm64_image
  step "arm64 build check" arm64_check
fi
step "docker context $CONTEXT_NAME" context
step "env file" env_file

log "timings:"
for t in "${TIMINGS[@]}"; do log "  $t"; done
log "$(awk -v a="$T_START" -v b="$(now)" 'BEGIN { printf "%6.1f s", b - a }')  total"
modern version --format 'Modern engine {{.Server.Version}} (API {{.Server.APIVersion}}) ready' >&2
