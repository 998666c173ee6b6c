#!/usr/bin/env bash
# Installs LocalStack (pinned, no Docker) into a cached venv and prints the venv's path.
# The venv is rebuilt only when requirements.txt changes, so repeated runs cost nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
venv="${ROLECALL_LOCALSTACK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecall/localstack-venv}"
python="${PYTHON:-python3}"
want=$(sha256sum "$req" | cut -d' ' -f1)
# One install at a time: start.sh for two ports (CI's and a developer's, say) may run at once.
mkdir -p "$(dirname "$venv")"
exec 8>"$venv.lock"
flock 8
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
  echo "$venv"
  exit 0
fi
# LocalStack 4.13.1 is the newest release that runs on Python 3.11; newer ones need 3.12.
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "localstack/install.sh: Python 3.11 or newer is needed (found $("$python" --version 2>&1))" >&2; exit 1; }
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
echo "localstack/install.sh: installing LocalStack (pinned in $req) into $venv; once per machine" >&2
"$python" -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req" >&2
echo "$want" > "$venv/.requirements-sha256"
echo "$venv"
