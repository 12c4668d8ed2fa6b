"""Listening sockets: the one helper that binds the SMTP port (shared by the
workers with SO_REUSEPORT) and the review app's port.
"""

from __future__ import annotations

import socket

from gateway import config


def listening_socket(address: config.HostPort, reuse_port: bool, name: str = "SMTP",
                     backlog: int = 1024) -> socket.socket:
    """Bind a TCP listening socket; several workers may share it with SO_REUSEPORT.
    An OSError names the address and what it is for."""
    infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"{name} listen address {address}: {exc.strerror}") from None
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
