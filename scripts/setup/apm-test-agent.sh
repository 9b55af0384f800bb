#!/usr/bin/env bash
# Installs the Datadog APM test agent (ddapm-test-agent) into .venv-apm/, for tests/tracing/.
# It gets a venv of its own: it is a separate server (aiohttp, its own pins) that the tests start
# on loopback, and nothing of it may leak into the exporter's dependencies.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-apm"
REQUIREMENT="ddapm-test-agent==1.69.1"
STAMP="$VENV/.installed"
PYTHON="${PYTHON:-python3.11}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$REQUIREMENT" && -x "$VENV/bin/ddapm-test-agent" ]]; then
    exit 0
fi

start=$SECONDS
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQUIREMENT"
echo "$REQUIREMENT" > "$STAMP"
echo "apm-test-agent.sh: installed $REQUIREMENT into .venv-apm in $((SECONDS - start)) s"
