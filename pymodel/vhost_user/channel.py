"""One vhost-user connection: framed messages plus SCM_RIGHTS descriptors.

:class:`Channel` turns a connected ``AF_UNIX`` stream socket into
:class:`Message` objects and back.  Every failure of the peer (EOF at any
byte, a reset connection, a short header, an oversized payload) surfaces as
:class:`Disconnected` or :class:`~.protocol.ProtocolError`, so the session
layer has exactly two exceptions to handle.
"""

from __future__ import annotations

import array
import os
import socket
from dataclasses import dataclass, field

from .protocol import FLAG_REPLY, HEADER, MAX_PAYLOAD, VERSION, ProtocolError

__all__ = ["Message", "Channel", "Disconnected"]

_MAX_FDS = 8


class Disconnected(Exception):
    """The front-end went away (EOF or socket error)."""


@dataclass
class Message:
    """A decoded message: request code, flags, payload and the fds it carried.

    The receiver owns ``fds`` and must close the ones it does not keep.
    """

    request: int
    flags: int
    payload: bytes
    fds: list[int] = field(default_factory=list)

    def close_fds(self) -> None:
        """Close every descriptor still held by the message."""
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []

    def take_fd(self) -> int:
        """Remove and return the first fd (-1 if none was sent)."""
        return self.fds.pop(0) if self.fds else -1


class Channel:
    """Message framing over one connected socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        """The socket's descriptor (for ``select``)."""
        return self.sock.fileno()

    def close(self) -> None:
        """Close the socket (idempotent)."""
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv_exact(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except (ConnectionError, OSError) as e:
                raise Disconnected(str(e)) from e
            if not chunk:
                raise Disconnected(f"EOF after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def recv(self) -> Message:
        """Block for the next message."""
        fds = array.array("i")
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(
                HEADER.size, socket.CMSG_SPACE(_MAX_FDS * fds.itemsize), socket.MSG_CMSG_CLOEXEC
            )
        except (ConnectionError, OSError) as e:
            raise Disconnected(str(e)) from e
        for level, kind, blob in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(blob[: len(blob) - len(blob) % fds.itemsize])
        msg_fds = list(fds)
        try:
            if not data:
                raise Disconnected("EOF")
            if len(data) < HEADER.size:
                data += self._recv_exact(HEADER.size - len(data))
            request, flags, size = HEADER.unpack(data)
            if size > MAX_PAYLOAD:
                raise ProtocolError(f"request {request}: payload size {size} > {MAX_PAYLOAD}")
            payload = self._recv_exact(size) if size else b""
        except BaseException:
            for fd in msg_fds:
                os.close(fd)
            raise
        return Message(request, flags, payload, msg_fds)

    def send(self, request: int, payload: bytes, flags: int = FLAG_REPLY) -> None:
        """Send one message (a reply unless ``flags`` says otherwise)."""
        try:
            self.sock.sendall(HEADER.pack(request, flags | VERSION, len(payload)) + payload)
        except (ConnectionError, OSError) as e:
            raise Disconnected(str(e)) from e
