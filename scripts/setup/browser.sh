#!/usr/bin/env bash
# Headless Chromium from Debian, for the test that opens /metrics as a person would.
set -euo pipefail
command -v chromium >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq chromium >/dev/null; }
chromium --version
