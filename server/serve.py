"""``playground serve``: run the app under uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.devices import DEVICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, or $PLAYGROUND_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000, or $PLAYGROUND_PORT)")
    parser.add_argument("--models", type=Path, help="folder of model directories (default: the shipped zoo)")
    parser.add_argument(
        "--device",
        choices=DEVICES,
        help="where the PyTorch twin runs: auto (CUDA, then MPS, then the CPU; the default, or "
        "$PLAYGROUND_DEVICE), cpu, cuda or mps; the NumPy twin always runs on the CPU",
    )


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from server.main import create_app
    from server.protocol import protocol_with
    from server.settings import Settings

    given = {"host": args.host, "port": args.port, "models_dir": args.models, "device": args.device}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    app = create_app(settings)  # a device that is not here: ValueError, one line from the command
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws="none",  # no WebSocket routes: uvicorn need not import a WebSocket library at start
        http=protocol_with(settings.header_timeout_s),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_s,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0
