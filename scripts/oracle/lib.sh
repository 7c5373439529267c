# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this file
# Shared settings for the oracle scripts (sourced, not run).

# The oracle image, built by build-image.sh.
ORACLE_IMAGE=${ORACLE_IMAGE:-perfold-oracle:bookworm}
# The pinned inferno release whose collapse-perf and flamegraph binaries are the oracle.
INFERNO_VERSION=0.12.8
# Everything of the private dockerd (socket, data root, exec root, pid file, log).
PERFOLD_DOCKERD_DIR=${PERFOLD_DOCKERD_DIR:-/var/tmp/perfold-dockerd}

# Talk to the private dockerd of dockerd.sh when it runs and DOCKER_HOST is not set.
oracle_docker_env() {
  if [ -z "${DOCKER_HOST:-}" ] && [ -S "$PERFOLD_DOCKERD_DIR/docker.sock" ]; then
    export DOCKER_HOST=unix://$PERFOLD_DOCKERD_DIR/docker.sock
  fi
}

# Seconds since the epoch with decimals, and a printer for the time a step took.
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
