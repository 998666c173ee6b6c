#!/usr/bin/env bash
# The main job, with no AWS account: start LocalStack, create the IAM of the example cluster
# with `rolecall update --yes`, then show that a second run has nothing left to do.
# PORT is $LOCALSTACK_PORT or 4566; SPEC is the first argument or docs/examples/cluster.yaml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port="${LOCALSTACK_PORT:-4566}"
spec="${1:-$root/docs/examples/cluster.yaml}"

step() { echo "== [$(date +%H:%M:%S)] $*"; }

step "starting LocalStack on port $port (the first run installs it into a cached venv)"
"$root/localstack/start.sh" "$port"
# Cargo's own progress shows on stderr: on a fresh clone the first build compiles the AWS SDK
# for some minutes, and `cargo test` afterwards reuses it (the same dependencies and features).
step "building rolecall (cargo build)"
cargo build --manifest-path "$root/Cargo.toml"
rolecall="${CARGO_TARGET_DIR:-$root/target}/debug/rolecall"

# LocalStack accepts any credentials; these stand in for real ones, which are never sent to it.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
endpoint="http://127.0.0.1:$port"

step "rolecall update -f $spec --yes (against LocalStack at $endpoint)"
"$rolecall" update -f "$spec" --yes --endpoint-url "$endpoint"
echo
step "rolecall update -f $spec (dry run: nothing should be left to do)"
"$rolecall" update -f "$spec" --endpoint-url "$endpoint"
