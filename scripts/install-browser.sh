#!/usr/bin/env bash
# Installs a Chromium that the Playwright browser tests can drive.
# As root with apt (Debian), Debian's package; elsewhere Playwright's own download.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
else
  "${VENV:-.venv}/bin/python" -m playwright install chromium
fi
