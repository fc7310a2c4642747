"""Free TCP ports on the loopback interface, for servers clipmill starts on this machine."""

from __future__ import annotations

import socket

__all__ = ["free_loopback_ports"]


def free_loopback_ports(count: int = 1) -> list[int]:
    """`count` distinct free loopback ports (bound together, then released, so reuse by others is unlikely)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()
