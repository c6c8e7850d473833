"""The vhost-user back-end server: a listening socket and one event loop.

:class:`VhostUserServer` listens on a unix socket, serves one front-end at a
time (vhost-user is one-to-one), and goes back to listening when that
front-end disconnects, whatever it was doing.  Everything runs in one
thread: the loop polls the listening or connected socket, the kick eventfds
of the started queues and an internal wake-up eventfd (used by
:meth:`stop` and by devices with input from outside, e.g. net's wire side).

    server = VhostUserServer("/tmp/vhost.sock", BlkDevice(...))
    server.start()          # background thread
    ...                     # point QEMU or DPDK at the socket
    server.stop()
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from typing import Optional

from .channel import Channel, Disconnected
from .device import VhostDevice
from .protocol import ProtocolError
from .session import Session
from .vring import Vring

__all__ = ["VhostUserServer"]

log = logging.getLogger("pymodel.vhost_user")


class VhostUserServer:
    """Serve ``device`` on the unix socket ``path``.

    Attributes:
        sessions: number of front-end connections accepted so far.
        disconnects: reasons the previous connections ended, in order.
        last_session: the most recent :class:`Session` (for inspection
            after the front-end left: negotiated features, message trace).
        internal_errors: exceptions raised by the back-end itself (bugs,
            not driver errors); each dropped the front-end it happened with.
    """

    def __init__(self, path: str, device: VhostDevice) -> None:
        self.path = path
        self.device = device
        self.sessions = 0
        self.disconnects: list[str] = []
        self.last_session: Optional[Session] = None
        self.session: Optional[Session] = None
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._ring_change = True
        self.error: Optional[BaseException] = None
        self.internal_errors: list[str] = []
        if os.path.exists(path):
            os.unlink(path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(4)
        device.attach(self.wake)

    # -- control (any thread) ------------------------------------------------------------
    def wake(self) -> None:
        """Make the loop run every live queue soon (thread-safe)."""
        try:
            os.write(self._wake_fd, (1).to_bytes(8, "little"))
        except BlockingIOError:
            pass

    def start(self) -> "VhostUserServer":
        """Run :meth:`serve_forever` in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="vhost-user", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, drop the front-end, remove the socket."""
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close_all()

    def __enter__(self) -> "VhostUserServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- loop ------------------------------------------------------------------------------
    def _mark_ring_change(self) -> None:
        self._ring_change = True

    def _drop(self, reason: str) -> None:
        s = self.session
        if s is None:
            return
        log.info("front-end gone: %s", reason)
        self.disconnects.append(reason)
        self.session = None
        s.close()
        self._ring_change = True

    def _close_all(self) -> None:
        self._drop("server stopped")
        for closer in (self._listener.close, lambda: os.close(self._wake_fd)):
            try:
                closer()
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def serve_forever(self) -> None:
        """Accept and serve front-ends until :meth:`stop`."""
        poller = select.poll()
        watched: set[int] = set()
        kicks: dict[int, Vring] = {}
        try:
            while not self._stopping:
                if self._ring_change:
                    self._ring_change = False
                    want = {self._wake_fd}
                    kicks = {}
                    if self.session is None:
                        want.add(self._listener.fileno())
                    else:
                        want.add(self.session.channel.fileno())
                        kicks = dict(self.session.kick_fds())
                        want |= set(kicks)
                    for fd in watched - want:
                        poller.unregister(fd)
                    for fd in want - watched:
                        poller.register(fd, select.POLLIN)
                    watched = want
                for fd, ev in poller.poll():
                    if self._stopping:
                        break
                    self._on_event(fd, ev, kicks)
        except BaseException as e:  # a bug in the backend: record it for the owner
            log.exception("vhost-user loop died")
            self.error = e
            raise

    def _on_event(self, fd: int, ev: int, kicks: dict[int, Vring]) -> None:
        try:
            self._dispatch(fd, kicks)
        except Exception as e:  # noqa: BLE001 - never let one front-end kill the server
            log.exception("internal error; dropping the front-end")
            self.internal_errors.append(f"{type(e).__name__}: {e}")
            self._drop(f"internal error: {type(e).__name__}: {e}")

    def _dispatch(self, fd: int, kicks: dict[int, Vring]) -> None:
        if fd == self._wake_fd:
            try:
                os.read(self._wake_fd, 8)
            except BlockingIOError:
                pass
            if self.session is not None:
                self.session.service_all()
        elif self.session is None and fd == self._listener.fileno():
            conn, _ = self._listener.accept()
            self.sessions += 1
            self.session = Session(Channel(conn), self.device, self._mark_ring_change)
            self.last_session = self.session
            self._ring_change = True
            log.info("front-end connected (session %d)", self.sessions)
        elif self.session is not None and fd == self.session.channel.fileno():
            self._on_message()
        elif self.session is not None and fd in kicks:
            vq = kicks[fd]
            if vq.started and vq.kick_fd == fd:
                vq.drain_kick()
                self.session.service(vq)

    def _on_message(self) -> None:
        s = self.session
        assert s is not None
        try:
            msg = s.channel.recv()
            s.handle(msg)
        except Disconnected as e:
            self._drop(f"disconnected: {e}")
        except ProtocolError as e:
            self._drop(f"protocol error: {e}")
