#!/usr/bin/env bash
# Makes a Docker engine available on a Debian machine and creates the local base images the tests use.
# Idempotent: reuses a daemon that already answers and images that already exist.
# No registry is reachable in CI, so base images are made with debootstrap and `docker import`.
set -euo pipefail

STATE_DIR="${DIB_PROVISION_DIR:-/var/tmp/docker-image-builder-provision}"
DOCKERD_LOG="$STATE_DIR/dockerd.log"
BASE_IMAGE="${DIB_TEST_BASE_IMAGE:-dib-test/debian:bookworm}"
PIP_IMAGE="${DIB_TEST_PIP_IMAGE:-dib-test/python-pip:bookworm}"
# Debian 13 ships a consistent torch 2.6 / torchvision 0.21 / torchaudio 2.6 on Python 3.13; bookworm's torch 1.13
# on Python 3.11 is a real incompatibility (torch.distributed.fsdp fails to import), useful as a failing case.
TORCH_BASE_IMAGE="${DIB_TEST_TORCH_BASE_IMAGE:-dib-test/debian:trixie}"
TORCH_IMAGE="${DIB_TEST_TORCH_IMAGE:-dib-test/torch-cpu:trixie}"
ENGINE_CLIENT=/usr/bin/docker
mkdir -p "$STATE_DIR"

log() { printf '[provision] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

daemon_answers() { timeout 10 "$ENGINE_CLIENT" info >/dev/null 2>&1; }

install_engine() {
  if [ -x /usr/sbin/dockerd ] && [ -x "$ENGINE_CLIENT" ] && command -v debootstrap >/dev/null; then return; fi
  log "installing Debian's docker.io and debootstrap"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io debootstrap >/dev/null
}

start_daemon() {
  if daemon_answers; then log "Docker daemon already answers"; return; fi
  log "starting dockerd (log: $DOCKERD_LOG)"
  # containerd ships with docker.io; dockerd starts its own when none runs.
  as_root nohup /usr/sbin/dockerd >"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 1 60); do
    if daemon_answers; then log "Docker daemon is up"; return; fi
    sleep 1
  done
  log "dockerd did not answer within 60 s; its log follows"
  tail -n 80 "$DOCKERD_LOG" >&2 || true
  exit 1
}

image_exists() { "$ENGINE_CLIENT" image inspect "$1" >/dev/null 2>&1; }

# make_base_image TAG SUITE: a minimal Debian SUITE root file system imported as TAG.
make_base_image() {
  local tag="$1" suite="$2"
  if image_exists "$tag"; then log "$tag exists"; return; fi
  local rootfs="$STATE_DIR/rootfs-$suite"
  if [ ! -x "$rootfs/bin/sh" ]; then
    log "debootstrap --variant=minbase $suite (a few minutes)"
    rm -rf "$rootfs"
    as_root debootstrap --variant=minbase "$suite" "$rootfs" >"$STATE_DIR/debootstrap-$suite.log" 2>&1 || {
      tail -n 40 "$STATE_DIR/debootstrap-$suite.log" >&2
      exit 1
    }
    # Keep the image small and apt quiet, as official Debian images do.
    as_root rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  fi
  log "importing $tag"
  as_root tar -C "$rootfs" -c . | "$ENGINE_CLIENT" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' - "$tag" >/dev/null
}

# Images derived from the base through an ordinary build, so they come from Debian's mirror like a user's would.
build_derived_image() {
  local tag="$1" base="$2" packages="$3"
  if image_exists "$tag"; then log "$tag exists"; return; fi
  log "building $tag ($packages)"
  printf 'FROM %s\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
    "$base" "$packages" | "$ENGINE_CLIENT" build -q -t "$tag" - >/dev/null
}

install_engine
start_daemon
make_base_image "$BASE_IMAGE" bookworm
build_derived_image "$PIP_IMAGE" "$BASE_IMAGE" "python3 python3-pip python3-venv"
if [ "${DIB_SKIP_TORCH_IMAGE:-0}" != "1" ]; then
  make_base_image "$TORCH_BASE_IMAGE" trixie
  build_derived_image "$TORCH_IMAGE" "$TORCH_BASE_IMAGE" "python3 python3-torch python3-torchvision python3-torchaudio"
fi
"$ENGINE_CLIENT" version --format 'Docker engine {{.Server.Version}} (API {{.Server.APIVersion}}) ready' >&2
