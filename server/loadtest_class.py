"""``playground loadtest --class``: one teacher and many students in a live class on a running server.

The teacher starts a class; ``--students`` students join and follow its events (async httpx, one
connection each; on a loopback URL each student speaks from an address of its own, 127.0.x.y, so the
per-address join limit sees one attempt per student, as in a classroom). Once all are counted, the
teacher pushes ``--pushes`` states ``--push-every-ms`` apart, each carrying the time it was sent; every
student notes when each arrives. Then a poll: every student answers, and the tally must count each.
Printed: push latency p50 / p95 / max over all students × pushes, pushes received, the tally, and the
server's resident memory before and after the students connected (psutil on ``--server-pid``, else the
server's own ``/healthz``) → memory per connected student. ``--max-push-p95-ms`` fails above it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import json
import resource
import ssl
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

OPTIONS = ("attention", "the MLP", "layer norm")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every simulated client. httpx otherwise builds one per client, reading
    the CA certificates each time (about 50 ms of CPU): with 100 clients that held the load test's
    event loop for 5 s as it began, and the first requests' time to first token with it."""
    return ssl.create_default_context()


def http_client(timeout: Any, transport: Any = None) -> Any:
    """An ``httpx.AsyncClient`` for one simulated client, with the shared ``tls_context``."""
    import httpx

    return httpx.AsyncClient(timeout=timeout, verify=tls_context(), transport=transport)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--class",
        dest="live_class",
        action="store_true",
        help="load a live class instead: one teacher, --students following, --pushes pushes, one poll",
    )
    parser.add_argument("--students", type=int, default=200, help="students in the class (default 200)")
    parser.add_argument("--pushes", type=int, default=20, help="states the teacher pushes (default 20)")
    parser.add_argument("--push-every-ms", type=float, default=250, help="between pushes (default 250)")
    parser.add_argument("--max-push-p95-ms", type=float, help="fail (exit 1) when push latency p95 is above")
    parser.add_argument("--server-pid", type=int, help="the server's process id: its memory read by psutil")


@dataclass
class Student:
    index: int
    arrivals: dict[int, float] = field(default_factory=dict)  # push number → ms after it was sent
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    answered: bool = False
    error: str | None = None


async def rss_kib(client: Any, url: str, pid: int | None) -> float | None:
    if pid is not None:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1024
    mib = (await client.get(f"{url}/healthz")).json().get("rss_mib")
    return None if mib is None else mib * 1024


def cpu_s(pid: int | None) -> float | None:
    """The server's CPU seconds so far (user and system), when its process id is known."""
    if pid is None:
        return None
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def source_address(url: str, index: int) -> str | None:
    """An address of its own for each student when the server is on loopback (Linux routes 127/8)."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).version == 4 and ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return f"127.0.{1 + index // 250}.{1 + index % 250}" if loopback and sys.platform == "linux" else None


async def student_loop(url: str, code: str, me: Student, done: asyncio.Event) -> None:
    import httpx

    transport = httpx.AsyncHTTPTransport(local_address=source_address(url, me.index), verify=tls_context())
    async with http_client(httpx.Timeout(30, read=None), transport) as client:
        r = await client.post(f"{url}/api/classes/{code}/join", json={"name": f"student {me.index}"})
        if r.status_code != 200:
            me.error = f"join: HTTP {r.status_code}: {r.text[:200]}"
            me.connected.set()
            return
        student = r.json()["student"]
        async with client.stream("GET", f"{url}{r.json()['events']}") as events:
            if events.status_code != 200:
                me.error = f"events: HTTP {events.status_code}"
                me.connected.set()
                return
            me.connected.set()
            name = None
            async for line in events.aiter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:") and name == "state":
                    params = json.loads(line[5:])["params"]
                    if "sent" in params:
                        me.arrivals[params["n"]] = (time.perf_counter() - params["sent"]) * 1000
                elif line.startswith("data:") and name == "poll":
                    poll = json.loads(line[5:])
                    body = {"poll_id": poll["poll_id"], "student": student, "answer": OPTIONS[me.index % 3]}
                    a = await client.post(f"{url}/api/classes/{code}/answers", json=body)
                    me.answered = a.status_code == 200
                    if not me.answered:
                        me.error = f"answer: HTTP {a.status_code}: {a.text[:200]}"
                elif name == "end" or done.is_set():
                    return


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = args.url.rstrip("/")
    async with http_client(30) as teacher:
        r = await teacher.post(f"{url}/api/classes", json={"title": "load test"})
        r.raise_for_status()
        code, key = r.json()["code"], {"X-Teacher-Key": r.json()["teacher_key"]}
        before = await rss_kib(teacher, url, args.server_pid)
        students = [Student(i) for i in range(args.students)]
        done = asyncio.Event()
        tasks = [asyncio.create_task(student_loop(url, code, s, done)) for s in students]
        start = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in students)), 120)
            ok = [s for s in students if s.error is None]
            while (await teacher.get(f"{url}/api/classes/{code}", headers=key)).json()["students"] < len(ok):
                assert time.perf_counter() - start < 120, "the students were not all counted in 2 minutes"
                await asyncio.sleep(0.1)
            connect_s = time.perf_counter() - start
            await asyncio.sleep(1.0)  # the count settles
            after = await rss_kib(teacher, url, args.server_pid)
            cpu_before = cpu_s(args.server_pid)
            for n in range(args.pushes):
                params = {"n": n, "sent": time.perf_counter()}
                await teacher.post(f"{url}/api/classes/{code}/state", headers=key, json={"params": params})
                await asyncio.sleep(args.push_every_ms / 1000)
            await asyncio.sleep(1.0)  # the last push arrives
            cpu = cpu_s(args.server_pid)
            cpu_per_push = None if cpu is None or cpu_before is None else (cpu - cpu_before) / args.pushes
            body = {"question": "Which part mixes information between positions?", "options": list(OPTIONS)}
            poll = (await teacher.post(f"{url}/api/classes/{code}/polls", headers=key, json=body)).json()
            tally_url = f"{url}/api/classes/{code}/polls/{poll['poll_id']}"
            waited = time.perf_counter()
            while (tally := (await teacher.get(tally_url, headers=key)).json())["answers"] < len(ok):
                if time.perf_counter() - waited > 30:
                    break
                await asyncio.sleep(0.2)
        finally:
            done.set()
            await teacher.delete(f"{url}/api/classes/{code}", headers=key)
            await asyncio.wait(tasks, timeout=30)
    latencies = [ms for s in students for ms in s.arrivals.values()]
    expected = {o: len([s for s in ok if s.index % 3 == i]) for i, o in enumerate(OPTIONS)}
    per_student = (after - before) / len(ok) if before and after and ok else None
    return {
        "url": url,
        "students": args.students,
        "connected": len(ok),
        "connect_s": round(connect_s, 1),
        "pushes": args.pushes,
        "received": len(latencies),
        "push_ms": percentiles(latencies),
        "tally": tally["tally"],
        "tally_expected": expected,
        "answers": tally["answers"],
        "rss_kib": {"before": before, "after": after},
        "kib_per_student": per_student,
        "server_cpu_ms_per_push": None if cpu_per_push is None else cpu_per_push * 1000,
        "errors": [s.error for s in students if s.error][:5],
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    a = np.asarray(values)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def report(r: dict[str, Any]) -> str:
    def mib(kib: float | None) -> str:
        return "-" if kib is None else f"{kib / 1024:.1f}"

    ms, rss, per = r["push_ms"], r["rss_kib"], r["kib_per_student"]
    rows = [
        ("students connected", f"{r['connected']} of {r['students']} in {r['connect_s']} s"),
        ("pushes received", f"{r['received']} of {r['connected'] * r['pushes']}"),
        (
            "push latency p50 / p95 / max",
            " / ".join("-" if v is None else f"{v:.1f}" for v in ms.values()) + " ms",
        ),
        ("poll answers tallied", f"{r['answers']} ({r['tally']})"),
        (
            "server RSS before → after",
            f"{mib(rss['before'])} → {mib(rss['after'])} MiB",
        ),
        (
            "server CPU per push (all students)",
            "-" if r["server_cpu_ms_per_push"] is None else f"{r['server_cpu_ms_per_push']:.1f} ms",
        ),
        (
            "memory per connected student",
            "-" if per is None else f"{per:.1f} KiB",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return f"a live class at {r['url']}\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows) + "\n"


def failures(r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    out = [f"errors, e.g. {r['errors'][:2]}"] if r["errors"] else []
    if r["received"] < r["connected"] * r["pushes"]:
        out.append(f"{r['connected'] * r['pushes'] - r['received']} pushes did not arrive")
    if r["tally"] != r["tally_expected"] or r["answers"] != r["connected"]:
        out.append(f"tally {r['tally']} != {r['tally_expected']}")
    p95 = r["push_ms"]["p95"]
    if args.max_push_p95_ms is not None and (p95 is None or p95 > args.max_push_p95_ms):
        out.append(f"push latency p95 {p95} ms > {args.max_push_p95_ms} ms")
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One class load test: its figures, with ``failures`` naming each target missed."""
    if args.students < 1 or args.pushes < 1:
        raise ValueError("--students and --pushes must be ≥ 1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * args.students + 256))  # a socket per student, and room
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    result = asyncio.run(run(args))
    result["failures"] = failures(result, args)
    return result
