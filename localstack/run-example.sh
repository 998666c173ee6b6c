#!/usr/bin/env bash
# The main job, with no AWS account: start LocalStack, create the IAM of the example cluster
# with `rolecall update --yes`, then show that a second run has nothing left to do.
# PORT is $LOCALSTACK_PORT or 4566; SPEC is the first argument or docs/examples/cluster.yaml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port="${LOCALSTACK_PORT:-4566}"
spec="${1:-$root/docs/examples/cluster.yaml}"

step() { echo "== [$(date +%H:%M:%S)] $*"; }

# LocalStack starts (and on the first run installs into a cached venv, a minute and more)
# while rolecall compiles; its messages are shown once the build is done.
step "starting LocalStack on port $port in the background (the first run installs it into a cached venv)"
started=$(mktemp)
trap 'rm -f "$started"' EXIT
"$root/localstack/start.sh" "$port" >"$started" 2>&1 &
starting=$!
# Cargo's own progress shows on stderr: on a fresh clone the first build compiles the AWS SDK
# for some minutes, and `cargo test` afterwards reuses it (the same dependencies and features).
step "building rolecall (cargo build)"
cargo build --manifest-path "$root/Cargo.toml"
rolecall="${CARGO_TARGET_DIR:-$root/target}/debug/rolecall"
step "waiting for LocalStack"
if ! wait "$starting"; then
  cat "$started" >&2
  exit 1
fi
cat "$started"

# LocalStack accepts any credentials; these stand in for real ones, which are never sent to it.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
endpoint="http://127.0.0.1:$port"

step "rolecall update -f $spec --yes (against LocalStack at $endpoint)"
"$rolecall" update -f "$spec" --yes --endpoint-url "$endpoint"
echo
step "rolecall update -f $spec (dry run: nothing should be left to do)"
"$rolecall" update -f "$spec" --endpoint-url "$endpoint"
