#!/usr/bin/env bash
# Stops the LocalStack that start.sh started on PORT (first argument, $LOCALSTACK_PORT, or 4566).
set -euo pipefail
port="${1:-${LOCALSTACK_PORT:-4566}}"
# One directory a port (its lock, pid, log and volume), under $ROLECALL_LOCALSTACK_STATE if set.
state="${ROLECALL_LOCALSTACK_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecall}/localstack-$port"
pid=$(cat "$state/pid" 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
  echo "no LocalStack started by start.sh is running on port $port"
  exit 0
fi
kill "$pid"
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || { rm -f "$state/pid"; echo "stopped LocalStack on port $port"; exit 0; }; sleep 0.5; done
kill -9 "$pid" 2>/dev/null || true
rm -f "$state/pid"
echo "killed LocalStack on port $port"
