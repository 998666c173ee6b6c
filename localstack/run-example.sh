#!/usr/bin/env bash
# The main job, with no AWS account: start LocalStack, create the IAM of the example cluster
# with `rolecall update --yes`, then show that a second run has nothing left to do.
# PORT is $LOCALSTACK_PORT or 4566; SPEC is the first argument or docs/examples/cluster.yaml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port="${LOCALSTACK_PORT:-4566}"
spec="${1:-$root/docs/examples/cluster.yaml}"

"$root/localstack/start.sh" "$port"
cargo build --quiet --manifest-path "$root/Cargo.toml"
rolecall="$root/target/debug/rolecall"

# LocalStack accepts any credentials; these stand in for real ones, which are never sent to it.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
endpoint="http://127.0.0.1:$port"

echo "== rolecall update -f $spec --yes (against LocalStack at $endpoint)"
"$rolecall" update -f "$spec" --yes --endpoint-url "$endpoint"
echo
echo "== rolecall update -f $spec (dry run: nothing should be left to do)"
"$rolecall" update -f "$spec" --endpoint-url "$endpoint"
