#!/usr/bin/env bash
# Headless Chromium from Debian, for the tests that open /metrics and the status page as a person would
# (tests/web/test_status_page.py drives it with Playwright, from the `[test]` extra; `playwright install`
# is never run: its browser downloads are not reachable, and the system's Chromium is the one tested).
set -euo pipefail
command -v chromium >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq chromium >/dev/null; }
chromium --version
