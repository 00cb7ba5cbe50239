#!/usr/bin/env bash
# The classroom soak (make soak): serve the shipped models, then
#   1. 50 streams with attention rows for 120 s (after 20 s of warm-up): 0 errors, inter-token p95 ≤ 50 ms,
#      server memory growth ≤ 10 % (its median in the window's last quarter over its median in the first);
#   2. 100 streams for 30 s against a limit of 64: the extra requests get 503 with Retry-After, nothing fails.
# Figures go to artifacts/soak-50.json and artifacts/soak-100.json; the exit status says whether all targets
# were met. SOAK_SECONDS shortens phase 1; SOAK_BACKEND picks the twin (numpy by default).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PORT=${SOAK_PORT:-8765}
URL="http://127.0.0.1:$PORT"
BACKEND=${SOAK_BACKEND:-numpy}
mkdir -p artifacts
PLAYGROUND_PORT=$PORT PLAYGROUND_MAX_STREAMS=64 "$BIN/playground" serve > artifacts/soak-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$BIN/python" -c "import httpx,sys; sys.exit(httpx.get('$URL/healthz').status_code != 200)" 2>/dev/null && break
  sleep 0.2
done
status=0
"$BIN/playground" loadtest --url "$URL" --backend "$BACKEND" --streams 50 --attention --warmup 20 \
  --duration "${SOAK_SECONDS:-120}" --max-p95-ms 50 --max-rss-growth 0.10 --json artifacts/soak-50.json || status=1
"$BIN/playground" loadtest --url "$URL" --backend "$BACKEND" --streams 100 --warmup 5 --duration 30 \
  --expect-busy --json artifacts/soak-100.json || status=1
exit $status
