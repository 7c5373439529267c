#!/usr/bin/env bash
# dockerd.sh start|stop|status
#
# A private dockerd for the oracle container, run as root, separate from any system docker:
# its socket, data root, exec root, pid file and log all live in $PERFOLD_DOCKERD_DIR
# (default /var/tmp/perfold-dockerd; the data root keeps the oracle image between runs).
# No network: --bridge=none --iptables=false (compare.sh runs every container with
# --network none). If a system containerd runs, dockerd uses it, in its own namespaces. `start` waits until the daemon answers and prints the DOCKER_HOST to use
# (the other oracle scripts find the socket themselves); `stop` kills it by its pid.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=./lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

dir=$PERFOLD_DOCKERD_DIR
sock=$dir/docker.sock
pidfile=$dir/dockerd.pid
host=unix://$sock

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2> /dev/null
}

case ${1:-} in
  start)
    [ "$(id -u)" = 0 ] || { echo "dockerd.sh: run as root" >&2; exit 1; }
    if running; then
      echo "dockerd.sh: already running (pid $(cat "$pidfile")); export DOCKER_HOST=$host"
      exit 0
    fi
    mkdir -p "$dir/data" "$dir/exec"
    rm -f "$sock" "$pidfile"
    # setsid: the daemon must not die with the shell (or CI step) that started it.
    setsid dockerd \
      --host "$host" \
      --data-root "$dir/data" \
      --exec-root "$dir/exec" \
      --pidfile "$pidfile" \
      --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
      --containerd-namespace perfold-oracle --containerd-plugins-namespace perfold-oracle-plugins \
      > "$dir/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
      if DOCKER_HOST=$host docker version > /dev/null 2>&1; then
        echo "dockerd.sh: started (pid $(cat "$pidfile")); export DOCKER_HOST=$host"
        exit 0
      fi
      if ! kill -0 $! 2> /dev/null; then break; fi
      sleep 0.5
    done
    echo "dockerd.sh: dockerd did not come up; last lines of $dir/dockerd.log:" >&2
    tail -20 "$dir/dockerd.log" >&2
    exit 1
    ;;
  stop)
    if ! running; then
      echo "dockerd.sh: not running"
      rm -f "$pidfile"
      exit 0
    fi
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2> /dev/null || { echo "dockerd.sh: stopped (pid $pid)"; exit 0; }
      sleep 0.5
    done
    echo "dockerd.sh: pid $pid still running after 30 s; sending SIGKILL" >&2
    kill -9 "$pid" 2> /dev/null || true
    ;;
  status)
    if running; then echo "running (pid $(cat "$pidfile")); DOCKER_HOST=$host"; else echo "not running"; exit 1; fi
    ;;
  *)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
