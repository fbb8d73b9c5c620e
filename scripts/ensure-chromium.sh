#!/usr/bin/env bash
# Make sure the OS's Chromium is there for the browser tests (Playwright drives it; its
# own browser download is not used). Installs Debian's package when missing (as root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing it from the OS packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is not installed and cannot be installed here (need root and apt-get);" \
  "the browser tests will be skipped." >&2
exit 1
