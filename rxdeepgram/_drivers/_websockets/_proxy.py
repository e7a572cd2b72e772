"""A tunnel through an HTTP proxy (``CONNECT host:port``) for the websockets transport.

picows tunnels through proxies itself; websockets' Sans-I/O protocol only speaks WebSocket, so
this module opens the TCP connection to the proxy, asks it for a tunnel to the server and hands
the connected socket to ``loop.create_connection(sock=...)``, where TLS (for ``wss://``) and the
WebSocket handshake start as on a direct connection. Proxy credentials
(``http://user:password@host:port``) go out as ``Proxy-Authorization: Basic``; no error or log
line shows them: a refusal is reported by its status alone (a proxy may echo the request, its
``Proxy-Authorization`` included, in its reason phrase), and the driver masks the password and
the ``Basic`` token in everything else.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from urllib.parse import unquote, urlsplit

from ...errors import ConfigurationError, ConnectError

__all__ = ["tunnel"]

_MAX_HEAD = 16 * 1024


async def tunnel(proxy: str, host: str, port: int) -> socket.socket:
    """A non-blocking socket connected through ``proxy`` to ``host:port``."""
    parts = urlsplit(proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigurationError(
            f"the websockets transport tunnels through http:// proxies only, not "
            f"{parts.scheme or 'this'}:// ones (the proxy comes from HTTP(S)_PROXY; the picows "
            "transport also takes https:// and socks proxies, or set NO_PROXY for this host)"
        )
    where = f"proxy {parts.hostname}:{parts.port or 80}"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"could not reach {where}: {exc}") from None
    sock: socket.socket | None = None
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        candidate = socket.socket(family, kind, proto)
        candidate.setblocking(False)
        try:
            await loop.sock_connect(candidate, address)
        except OSError as exc:
            candidate.close()
            error = exc
            continue
        sock = candidate
        break
    if sock is None:
        raise ConnectError(f"could not connect to {where}: {error}") from None
    try:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if parts.username is not None:
            user = unquote(parts.username)
            password = unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request += f"Proxy-Authorization: Basic {token}\r\n"
        await loop.sock_sendall(sock, (request + "\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head:  # the proxy says nothing more until the tunnel is used
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectError(f"{where} closed the connection before answering CONNECT")
            head += chunk
            if len(head) > _MAX_HEAD:
                raise ConnectError(f"{where} answered CONNECT with an oversized head")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        fields = status_line.split(" ", 2)
        if len(fields) < 2 or not fields[1].isdigit():
            raise ConnectError(f"{where} answered CONNECT with something other than HTTP")
        if fields[1] != "200":  # the status only: a reason phrase may echo our request
            raise ConnectError(f"{where} refused the tunnel to {target} with HTTP {fields[1]}")
        if head.index(b"\r\n\r\n") + 4 != len(head):
            raise ConnectError(f"{where} sent data before the tunnel was used")
    except BaseException:
        sock.close()
        raise
    return sock
