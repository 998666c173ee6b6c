#!/usr/bin/env bash
# Starts LocalStack (IAM, STS, EC2, Route53) on 127.0.0.1:PORT unless one already answers there, and
# waits until it is healthy. PORT is the first argument, else $LOCALSTACK_PORT, else 4566.
# Safe to call from several processes at once: a lock lets one start it and the rest wait.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port="${1:-${LOCALSTACK_PORT:-4566}}"
# One directory a port (its lock, pid, log and volume), under $ROLECALL_LOCALSTACK_STATE if set.
state="${ROLECALL_LOCALSTACK_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecall}/localstack-$port"
mkdir -p "$state"
health="http://127.0.0.1:$port/_localstack/health"

healthy() { curl -fsS --max-time 2 "$health" 2>/dev/null | grep -q '"iam": "\(available\|running\)"'; }

exec 9>"$state/lock"
flock 9
if healthy; then
  echo "LocalStack already running on port $port"
  exit 0
fi
venv=$("$here/install.sh")
rm -rf "$state/volume"
mkdir -p "$state/volume"
# setsid: the server outlives the shell (and the test binary) that started it, so every test
# binary shares one instance; stop.sh ends it. `9>&-`: the server must not inherit the lock,
# or it would hold it for as long as it runs.
GATEWAY_LISTEN="127.0.0.1:$port" SERVICES=iam,sts,ec2,route53 \
  LOCALSTACK_TELEMETRY_DISABLED=1 DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
  LOCALSTACK_VOLUME_DIR="$state/volume" \
  setsid "$venv/bin/python" -m localstack.runtime.main >"$state/localstack.log" 2>&1 </dev/null 9>&- &
echo $! > "$state/pid"
for _ in $(seq 1 120); do
  if healthy; then
    echo "LocalStack ready on port $port (pid $(cat "$state/pid"), log $state/localstack.log)"
    exit 0
  fi
  if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "localstack/start.sh: LocalStack exited during start-up; the end of its log:" >&2
    tail -n 30 "$state/localstack.log" >&2
    exit 1
  fi
  sleep 1
done
echo "localstack/start.sh: LocalStack did not become healthy on port $port within 120 s; see $state/localstack.log" >&2
exit 1
