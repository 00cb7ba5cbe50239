"""The join link students open (never ``localhost``, which is each student's own device) and its QR."""

from __future__ import annotations

import io
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

SCALE = 10
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address() -> str | None:
    """This machine's address on its local network: the source address the system would use to
    reach a private address (a UDP socket's connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) else address


def join_url(code: str, request_base: str, public_url: str | None) -> tuple[str, str | None]:
    """(the join link, a note when a loopback address was replaced)."""
    if public_url:
        return f"{public_url.rstrip('/')}/join/{code}", None
    parts = urlsplit(request_base)
    host = parts.hostname or ""
    if not is_loopback(host):
        return f"{request_base.rstrip('/')}/join/{code}", None
    lan = lan_address()
    if lan is None:
        note = (
            f"students cannot reach {host}, which is their own device, and this machine has no network "
            "address to use instead: start the server with --host 0.0.0.0 on a network, or set "
            "PLAYGROUND_PUBLIC_URL"
        )
        return f"{request_base.rstrip('/')}/join/{code}", note
    netloc = f"{lan}:{parts.port}" if parts.port else lan
    base = urlunsplit((parts.scheme, netloc, "", "", ""))
    note = (
        f"students cannot reach {host}, which is their own device; the link uses this machine's network "
        f"address {lan} instead (the server must listen on it: --host 0.0.0.0), or set PLAYGROUND_PUBLIC_URL"
    )
    return f"{base}/join/{code}", note


def qr_svg(url: str) -> bytes:
    """The link as a QR code in SVG: black on white, its quiet zone kept, 10 px a module, and a viewBox so
    a page can draw it as large as the back of the room needs (an SVG without one does not scale)."""
    import segno  # only now: QR codes are drawn for a class's join link, not at the server's start

    qr = segno.make(url, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=SCALE, dark="#000", light="#fff", xmldecl=False)
    width, height = qr.symbol_size(scale=SCALE)
    return out.getvalue().replace(b"<svg ", f'<svg viewBox="0 0 {width} {height}" '.encode(), 1)
