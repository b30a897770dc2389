#!/usr/bin/env bash
# Starts `ormock serve` in the background for the rest of a CI job and exports its base URL.
#
#   ORMOCK_SCENARIO  a scenario file or a built-in's name (default: ci-fast)
#   ORMOCK_ARGS      more arguments for `ormock serve` (e.g. "--speed 100")
#   ORMOCK_BIN       the ormock command (default: ormock on PATH)
#
# Writes OPENROUTER_BASE_URL (the /api/v1 root), ORMOCK_URL (the server's root, for the control API)
# and ORMOCK_PID to $GITHUB_ENV, so the steps after this one see them, and prints them too. The log
# goes to $ORMOCK_LOG (default: ormock.log in the runner's temp folder).
set -euo pipefail
scenario="${ORMOCK_SCENARIO:-ci-fast}"
bin="${ORMOCK_BIN:-ormock}"
folder="${RUNNER_TEMP:-$(mktemp -d)}"
log="${ORMOCK_LOG:-$folder/ormock.log}"
url_file="$folder/ormock-url"
rm -f "$url_file"
if ! command -v "$bin" >/dev/null; then
  echo "ormock is not installed on this runner: add a step that installs it (pipx install /path/to/ormock)" >&2
  exit 1
fi
# shellcheck disable=SC2086  # ORMOCK_ARGS is a list of arguments
nohup "$bin" serve "$scenario" --port 0 --no-dashboard --url-file "$url_file" ${ORMOCK_ARGS:-} >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  if [ -s "$url_file" ]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "ormock serve stopped before it listened:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$url_file" ]; then
  echo "ormock serve did not listen within 20 s:" >&2
  cat "$log" >&2
  exit 1
fi
base="$(cat "$url_file")"
root="${base%/api/v1}"
for _ in $(seq 1 100); do
  if curl -fsS "$root/__ormock/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
{
  echo "OPENROUTER_BASE_URL=$base"
  echo "ORMOCK_URL=$root"
  echo "ORMOCK_PID=$pid"
} | tee -a "${GITHUB_ENV:-/dev/null}"
