#!/usr/bin/env bash
# Proves the Dockerfile where no Docker engine exists:
#   1. copies the build context (what `COPY . /src` takes, less .dockerignore) to a temporary folder;
#   2. runs the image's install steps (scripts/image-install.sh, which the Dockerfile's RUN lines call)
#      in a clean virtual environment there;
#   3. runs the Dockerfile's CMD (read from the Dockerfile, a free port in place of 8000) from a folder
#      outside the source, with an empty environment, in a network namespace that has nothing but
#      loopback (no network at run time); waits for the Dockerfile's HEALTHCHECK to pass; checks
#      /healthz, /api/models and one short /api/generate stream; stops the server with SIGTERM as
#      `docker stop` does.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python3.11}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
T0=$(date +%s.%N)
lap() { printf '[docker-recipe] %-40s at %6.1f s\n' "$1" "$(echo "$(date +%s.%N) - $T0" | bc)"; }

# 1. the build context
mkdir "$TMP/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | grep -zvE '^(tests|deploy|\.ci|data|runs|artifacts)/|^(Dockerfile|\.dockerignore|\.gitignore|package(-lock)?\.json|biome\.json)$' \
    | tar --null -cf - -T -) | tar -xf - -C "$TMP/src"
lap "context copied ($(du -sh "$TMP/src" | cut -f1))"

# 2. the image's RUN lines, in order, in a clean environment
"$PY" -m venv "$TMP/venv"
export PYTHON="$TMP/venv/bin/python"
bash "$ROOT/scripts/image-install.sh" torch
lap "torch installed"
bash "$ROOT/scripts/image-install.sh" project "$TMP/src"
lap "project installed"
rm -rf "$TMP/src"

# 3. serve as the image would, and check
mkdir "$TMP/home"
cat >"$TMP/check.py" <<'PYEOF'
"""Start the Dockerfile's CMD, pass its HEALTHCHECK, call the API, stop it with SIGTERM."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx

dockerfile, home = sys.argv[1], sys.argv[2]
text = open(dockerfile).read().replace("\\\n", " ")
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = str(s.getsockname()[1])
s.close()
cmd = [c.replace("8000", port) for c in json.loads(re.search(r"^CMD (\[.*\])$", text, re.M)[1])]
health = [c.replace("8000", port) for c in json.loads(re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", text, re.M)[1])]
env = {"HOME": home, "PATH": os.environ["PATH"]}  # nothing else: settings come only from the image
log = open(os.path.join(home, "server.log"), "w+")
server = subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
start = time.perf_counter()
try:
    while subprocess.run(health, capture_output=True, env=env, cwd=home).returncode != 0:
        if server.poll() is not None or time.perf_counter() - start > 120:
            raise SystemExit("the server never passed the HEALTHCHECK")
        time.sleep(0.5)
    print(f"[docker-recipe] {' '.join(cmd)}: HEALTHCHECK passed {time.perf_counter() - start:.1f} s after start")
    base = f"http://127.0.0.1:{port}"
    h = httpx.get(f"{base}/healthz").json()
    assert h["status"] == "ok" and h["models"] >= 1, h
    models = httpx.get(f"{base}/api/models").json()
    names = [m["name"] for m in models["models"]]
    assert names and not models["unavailable"], models["unavailable"]
    body = {"model": names[0], "prompt": "ROMEO:", "max_new_tokens": 8, "seed": 1}
    events, text_out = [], ""
    with httpx.stream("POST", f"{base}/api/generate", json=body, timeout=60) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
            elif line.startswith("data:") and events[-1] == "token":
                text_out += json.loads(line[5:])["text"]
    assert events[0] == "start" and events[-1] == "done" and events.count("token") == 8, events
    print(f"[docker-recipe] /healthz: {h['models']} models, rss {h['rss_mib']} MiB")
    print(f"[docker-recipe] /api/models: {', '.join(names)}")
    print(f"[docker-recipe] /api/generate {names[0]}: start, 8 tokens {text_out!r}, done")
finally:
    stop = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    rc = server.wait(timeout=30)
    log.seek(0)
    out = log.read()
    graceful = "Application shutdown complete" in out  # uvicorn then re-raises the signal: status -15
    print(f"[docker-recipe] SIGTERM: exited {rc} in {time.perf_counter() - stop:.1f} s, graceful: {graceful}")
    if sys.exc_info()[0] is not None:
        print(out)
    else:
        print("\n".join("[server] " + x for x in out.splitlines() if re.search(r"serving|not served|Uvicorn running", x)))
PYEOF
run=(env PATH="$TMP/venv/bin:/usr/bin:/bin" "$PYTHON" "$TMP/check.py" "$ROOT/Dockerfile" "$TMP/home")
if unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${run[@]}"
else
    echo "[docker-recipe] no network namespace here: the server runs on the host's loopback"
    "${run[@]}"
fi
lap "served, checked and stopped"
