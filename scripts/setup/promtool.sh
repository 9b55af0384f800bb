#!/usr/bin/env bash
# promtool from Debian's prometheus package, unpacked under .tools/ (no service installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .tools/prometheus/usr/bin/promtool ] && exit 0
mkdir -p .tools/prometheus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
  apt-get update -qq >/dev/null && (cd "$work" && apt-get download prometheus >/dev/null)
fi
dpkg-deb -x "$work"/prometheus_*.deb .tools/prometheus
.tools/prometheus/usr/bin/promtool --version | head -1
