#!/usr/bin/env bash
# Installs the Datadog agent's OpenMetrics V2 scraper (datadog-checks-base) into .venv-agent/.
# It gets a venv of its own because the agent ships its own Python and `[deps]` pins exact
# versions (requests, pydantic, ddtrace…) that must not clash with the exporter's.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-agent"
# 38.7.0's [deps] pins a certifi release that does not exist; 38.5.0 installs cleanly.
REQUIREMENT="datadog-checks-base[deps]==38.5.0"
STAMP="$VENV/.installed"
PYTHON="${PYTHON:-python3.11}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$REQUIREMENT" ]]; then
    exit 0
fi

start=$SECONDS
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# pip's own log goes to a file, shown only when the install fails.
if ! "$VENV/bin/pip" install --disable-pip-version-check "$REQUIREMENT" pyyaml > "$VENV/install.log" 2>&1; then
    cat "$VENV/install.log" >&2
    exit 1
fi
echo "$REQUIREMENT" > "$STAMP"
echo "agent.sh: installed $REQUIREMENT into .venv-agent in $((SECONDS - start)) s"
