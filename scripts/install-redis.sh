#!/usr/bin/env bash
# Installs redis-server for the live-class tests that run against a real Redis (tests/test_classes_redis.py).
# As root with apt (Debian), Debian's package; elsewhere those tests are skipped, with the reason printed.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
else
  echo "redis-server is not installed and apt is not available as root: the Redis tests will be skipped" >&2
fi
