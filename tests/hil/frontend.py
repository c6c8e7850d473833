"""A minimal vhost-user front-end in Python, for tests that need to misbehave.

It is written from the vhost-user spec independently of
:mod:`pymodel.vhost_user.protocol` (raw ``struct`` packing), shares a memfd
as guest memory, and drives the ring with pymodel's *driver* models
(:class:`pymodel.split_driver.SplitRingDriver`,
:class:`pymodel.packed_driver.PackedRingDriver`).  :meth:`Frontend.steps`
lists a complete blk session as separate steps, so a test can stop after
any of them -- or in the middle of the next message -- and hang up.
"""

from __future__ import annotations

import mmap
import os
import select
import socket
import struct
from dataclasses import dataclass
from typing import Callable, Optional, Union

from pymodel.features import BlkFeature, Transport, mask
from pymodel.packed_driver import PackedRingDriver
from pymodel.split_driver import SplitRingDriver

__all__ = ["Frontend", "Step", "MEMFD_NAME"]

MEMFD_NAME = "hil-frontend-mem"
GPA = 0x4000_0000  # guest-physical base of the shared region
UVA = 0x7F12_3400_0000  # the front-end's "virtual" address of the same region
MEM = 1 << 20
QSIZE = 8
PROTOCOL_FEATURES_BIT = 30
# request codes (vhost-user spec)
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 12, 13, 15, 16
SET_VRING_ENABLE, GET_CONFIG = 18, 24
REPLY_ACK_BIT, CONFIG_BIT = 3, 9


class _MmapMemory:
    """pymodel Memory over the shared mapping, in guest-physical addresses."""

    def __init__(self, mm: mmap.mmap) -> None:
        self.mm = mm

    def read(self, addr: int, n: int) -> bytes:
        return self.mm[addr - GPA : addr - GPA + n]

    def write(self, addr: int, data: bytes) -> None:
        self.mm[addr - GPA : addr - GPA + len(data)] = data


@dataclass(frozen=True)
class Step:
    """One front-end action; ``partial`` sends only part of its message."""

    name: str
    run: Callable[[], None]
    partial: Optional[Callable[[], None]] = None


class Frontend:
    """One connection to a back-end serving a virtio-blk device."""

    def __init__(self, path: str, *, packed: bool) -> None:
        self.packed = packed
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)  # blocking: waits while the back-end's backlog is full
        self.sock.settimeout(10)
        self.memfd = os.memfd_create(MEMFD_NAME)
        os.ftruncate(self.memfd, MEM)
        self.mm = mmap.mmap(self.memfd, MEM)
        self.mem = _MmapMemory(self.mm)
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)
        self.desc, self.driver_area, self.device_area = GPA + 0x1000, GPA + 0x2000, GPA + 0x3000
        self.ring: Union[SplitRingDriver, PackedRingDriver, None] = None
        self.replies: dict[str, bytes] = {}
        self.features = mask(Transport.VERSION_1, BlkFeature.FLUSH) | (
            mask(Transport.RING_PACKED) if packed else 0)

    # -- wire --------------------------------------------------------------------------
    def _msg(self, req: int, payload: bytes = b"", flags: int = 1) -> bytes:
        return struct.pack("<III", req, flags, len(payload)) + payload

    def send(self, req: int, payload: bytes = b"", fds: tuple[int, ...] = ()) -> None:
        data = self._msg(req, payload)
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
        self.sock.sendmsg([data], anc)

    def send_partial(self, req: int, payload: bytes, cut: int) -> None:
        """The first ``cut`` bytes of a message, then nothing."""
        self.sock.sendall(self._msg(req, payload)[:cut])

    def request(self, req: int, payload: bytes = b"") -> bytes:
        """Send and wait for the reply of a request that has one."""
        self.send(req, payload)
        hdr = self._recv(12)
        rreq, flags, size = struct.unpack("<III", hdr)
        if rreq != req or not flags & 4:
            raise AssertionError(f"reply to {req} was request {rreq} flags {flags:#x}")
        return self._recv(size)

    def _recv(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("back-end closed the connection")
            out += chunk
        return out

    def close(self) -> None:
        """Hang up and release everything this side holds."""
        self.sock.close()
        for fd in (self.kick, self.call, self.memfd):
            os.close(fd)
        self.mm.close()

    # -- the session ---------------------------------------------------------------------
    def _setup_ring(self) -> None:
        if self.packed:
            self.ring = PackedRingDriver(self.mem, QSIZE, self.desc, self.driver_area, self.device_area)
        else:
            self.ring = SplitRingDriver(self.mem, QSIZE, self.desc, self.driver_area, self.device_area)

    def _uva(self, gpa: int) -> int:
        return gpa - GPA + UVA

    def steps(self, on_io: Callable[[bytes, int], None]) -> list[Step]:
        """A complete session; ``on_io(data, used_len)`` checks the read's result."""
        q = struct.pack("<Q", 0)
        mem_table = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", GPA, MEM, UVA, 0)
        vaddr = struct.pack("<IIQQQQ", 0, 0, self._uva(self.desc), self._uva(self.device_area),
                            self._uva(self.driver_area), 0)
        base = (1 << 15 | 1 << 31) if self.packed else 0
        return [
            Step("SET_OWNER", lambda: self.send(SET_OWNER)),
            Step("GET_FEATURES", lambda: self._store("features", self.request(GET_FEATURES))),
            Step("GET_PROTOCOL_FEATURES", lambda: self._store("pf", self.request(GET_PROTOCOL_FEATURES))),
            Step("SET_PROTOCOL_FEATURES",
                 lambda: self.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", 1 << CONFIG_BIT)),
                 lambda: self.send_partial(SET_PROTOCOL_FEATURES, struct.pack("<Q", 1 << CONFIG_BIT), 16)),
            Step("GET_CONFIG",
                 lambda: self._store("config", self.request(GET_CONFIG, struct.pack("<III", 0, 60, 0) + bytes(60))),
                 lambda: self.send_partial(GET_CONFIG, struct.pack("<III", 0, 60, 0) + bytes(60), 30)),
            Step("SET_FEATURES",
                 lambda: self.send(SET_FEATURES, struct.pack("<Q", self.features | 1 << PROTOCOL_FEATURES_BIT)),
                 lambda: self.send_partial(SET_FEATURES, q, 6)),
            Step("SET_MEM_TABLE", lambda: self._set_mem_table(mem_table),
                 lambda: self.send_partial(SET_MEM_TABLE, mem_table, 20)),
            Step("SET_VRING_NUM", lambda: self.send(SET_VRING_NUM, struct.pack("<II", 0, QSIZE))),
            Step("SET_VRING_BASE", lambda: self.send(SET_VRING_BASE, struct.pack("<II", 0, base))),
            Step("SET_VRING_ADDR", lambda: self.send(SET_VRING_ADDR, vaddr),
                 lambda: self.send_partial(SET_VRING_ADDR, vaddr, 12 + 20)),
            Step("SET_VRING_CALL", lambda: self.send(SET_VRING_CALL, q, (self.call,))),
            Step("SET_VRING_KICK", lambda: self.send(SET_VRING_KICK, q, (self.kick,))),
            Step("SET_VRING_ENABLE", lambda: self.send(SET_VRING_ENABLE, struct.pack("<II", 0, 1))),
            Step("READ_REQUEST", self._submit_read),
            Step("WAIT_USED", lambda: self._wait_used(on_io)),
            Step("GET_VRING_BASE", lambda: self._store("base", self.request(GET_VRING_BASE, struct.pack("<II", 0, 0)))),
        ]

    def _set_mem_table(self, table: bytes) -> None:
        self._setup_ring()
        self.send(SET_MEM_TABLE, table, (self.memfd,))

    def _store(self, key: str, value: bytes) -> None:
        self.replies[key] = value

    HDR, DATA, STATUS = GPA + 0x8000, GPA + 0x9000, GPA + 0xA000
    SECTOR = 3

    def resume(self, base: int) -> None:
        """Restart the stopped ring at ``base`` (SET_VRING_BASE, KICK, ENABLE)."""
        self.send(SET_VRING_BASE, struct.pack("<II", 0, base))
        self.send(SET_VRING_KICK, struct.pack("<Q", 0), (self.kick,))
        self.send(SET_VRING_ENABLE, struct.pack("<II", 0, 1))

    def stop(self) -> int:
        """GET_VRING_BASE of queue 0."""
        return int.from_bytes(self.request(GET_VRING_BASE, struct.pack("<II", 0, 0))[4:8], "little")

    def driver_base(self) -> int:
        """The vring base the driver model's own state implies."""
        r = self.ring
        if isinstance(r, PackedRingDriver):
            return r.next_avail.off_wrap | r.next_avail.off_wrap << 16
        assert r is not None
        return r.avail_idx

    def read_sector(self, sector: int) -> tuple[bytes, int]:
        """One blk IN request, waited for: (data, used len)."""
        out: list[tuple[bytes, int]] = []
        self._submit_read(sector)
        self._wait_used(lambda d, n: out.append((d, n)))
        return out[0]

    def _submit_read(self, sector: int = SECTOR) -> None:
        assert self.ring is not None
        self.mem.write(self.DATA, b"\xAA" * 512)
        self.mem.write(self.STATUS, b"\xFF")
        self.mem.write(self.HDR, struct.pack("<IIQ", 0, 0, sector))
        self.ring.add([(self.HDR, 16)], [(self.DATA, 512), (self.STATUS, 1)])
        os.write(self.kick, struct.pack("<Q", 1))

    def _wait_used(self, on_io: Callable[[bytes, int], None]) -> None:
        assert self.ring is not None
        r, _, _ = select.select([self.call], [], [], 10)
        assert r, "no used-buffer notification within 10 s"
        os.read(self.call, 8)
        used = self.ring.get_used()
        assert used is not None, "notified, but no used buffer"
        status = self.mem.read(self.STATUS, 1)[0]
        assert status == 0, f"blk status {status}"
        on_io(self.mem.read(self.DATA, 512), used.len)
