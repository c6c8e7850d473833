"""virtio-net receive path: filtering and buffer placement (virtio.md §6.2, §6.4).

:class:`RxFilter` decides whether a frame is delivered at all (QEMU's
``receive_filter``: promiscuous, VLAN table, broadcast, multicast and
unicast rules with the MAC table).  :func:`place_rx` decides which
available buffers a delivered frame occupies and what is written to each:

* without MRG_RXBUF one buffer takes header + frame; if it is too small the
  packet is dropped and the buffer is **not** consumed (QEMU);
* with MRG_RXBUF buffers are taken in ring order, every one but the last is
  filled completely, only the first carries the header, whose
  ``num_buffers`` is the count (§6.2); if the available buffers cannot hold
  the packet, nothing is consumed and the result is ``NO_BUFFERS``;
* no available buffer at all: ``NO_BUFFERS``;
* a buffer with device-readable segments, or (MRG_RXBUF) a first buffer
  smaller than the header: DEVICE_NEEDS_RESET (QEMU ``virtio_error``).

The header written is all zero apart from ``num_buffers`` (the model
neither validates checksums nor coalesces); a checker may allow DATA_VALID
when GUEST_CSUM is negotiated.  Used ``len`` of each buffer = bytes written
into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Optional, Sequence

from .buffers import Buffer
from .errors import DeviceNeedsReset
from .features import NetFeature
from .memory import Memory
from .net import NetHdr, net_hdr_size

__all__ = ["RxFilter", "RxResult", "RxPlacement", "place_rx", "write_rx", "MAC_TABLE_ENTRIES"]

MAC_TABLE_ENTRIES = 64
BROADCAST = b"\xff" * 6


@dataclass
class RxFilter:
    """Receive filter state set through the control queue (§6.4 classes 0-2).

    Reset values follow QEMU: promiscuous on "for compatibility" (a driver
    without CTRL_RX must receive everything), all other modes off, MAC table
    empty, VLAN filtering only when CTRL_VLAN is negotiated.
    """

    mac: bytes = b"\0" * 6
    promisc: bool = True
    allmulti: bool = False
    alluni: bool = False
    nomulti: bool = False
    nouni: bool = False
    nobcast: bool = False
    uni: list[bytes] = field(default_factory=list)
    multi: list[bytes] = field(default_factory=list)
    uni_overflow: bool = False
    multi_overflow: bool = False
    vlan_filtering: bool = False
    vlans: set[int] = field(default_factory=set)

    def reset(self, mac: bytes, vlan_filtering: bool) -> None:
        """Back to the reset values."""
        self.__init__(mac=mac, vlan_filtering=vlan_filtering)  # type: ignore[misc]

    def accepts(self, frame: bytes) -> bool:
        """True if ``frame`` (Ethernet, no virtio header) is delivered to the driver."""
        if self.promisc:
            return True
        if len(frame) < 14:
            return False
        if self.vlan_filtering and frame[12:14] == b"\x81\x00" and len(frame) >= 16:
            vid = int.from_bytes(frame[14:16], "big") & 0xFFF
            if vid not in self.vlans:
                return False
        dst = frame[:6]
        if dst[0] & 1:
            if dst == BROADCAST:
                return not self.nobcast
            if self.nomulti:
                return False
            if self.allmulti or self.multi_overflow:
                return True
            return dst in self.multi
        if self.nouni:
            return False
        if self.alluni or self.uni_overflow or dst == self.mac:
            return True
        return dst in self.uni


class RxResult(Enum):
    """How a frame was (not) placed."""

    PLACED = "placed"
    NO_BUFFERS = "no_buffers"
    TOO_BIG = "too_big"


@dataclass(frozen=True)
class RxPlacement:
    """Where one received frame lands.

    ``buffers``/``lens`` are the consumed buffers and their used lens; both
    are empty unless ``result`` is PLACED.
    """

    result: RxResult
    buffers: tuple[Buffer, ...] = ()
    lens: tuple[int, ...] = ()
    header: bytes = b""


def place_rx(
    frame: bytes,
    take: Callable[[], Optional[Buffer]],
    give_back: Callable[[Sequence[Buffer]], None],
    negotiated: int,
    queue: Optional[int] = None,
) -> RxPlacement:
    """Plan the placement of ``frame``; ``take`` pops the next available buffer.

    Buffers taken but not used are handed to ``give_back`` (most recent
    last) so the caller can un-pop them.
    """
    hsize = net_hdr_size(negotiated)
    mergeable = bool(negotiated >> NetFeature.MRG_RXBUF & 1)
    need = hsize + len(frame)
    taken: list[Buffer] = []
    room = 0
    while room < need:
        b = take()
        if b is None:
            give_back(taken)
            return RxPlacement(RxResult.NO_BUFFERS)
        taken.append(b)
        if b.readable:
            raise DeviceNeedsReset("net rx buffer with device-readable segments", queue)
        if mergeable and len(taken) == 1 and b.writable_len < hsize:
            raise DeviceNeedsReset(f"net rx buffer smaller than the header ({b.writable_len})", queue)
        room += b.writable_len
        if not mergeable and room < need:
            give_back(taken)
            return RxPlacement(RxResult.TOO_BIG)
    lens = []
    left = need
    for b in taken:
        n = min(b.writable_len, left)
        lens.append(n)
        left -= n
    header = NetHdr(num_buffers=len(taken)).pack(hsize)
    return RxPlacement(RxResult.PLACED, tuple(taken), tuple(lens), header)


def write_rx(p: RxPlacement, frame: bytes, mem: Memory) -> None:
    """Write a PLACED frame into its buffers (header in the first only)."""
    stream = p.header + frame
    pos = 0
    for b, n in zip(p.buffers, p.lens):
        b.scatter(mem, stream[pos : pos + n])
        pos += n
