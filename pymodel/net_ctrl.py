"""virtio-net control virtqueue (virtio.md §6.4-§6.6).

A request is ``{u8 class; u8 command; data}`` readable, ``{u8 ack; result}``
writable.  :meth:`NetCtrl.handle` executes one and returns the ack
(VIRTIO_NET_OK 0 / VIRTIO_NET_ERR 1), the result bytes written after the ack
and the side effects the owner must apply (MAC change, queue pairs,
coalescing parameters).

Rules (``data`` sizes are minimums: trailing bytes are ignored, as QEMU's
``iov_to_buf`` does, except where "exactly" is written):

========================  ================  ==================================
class / command           needs             data -> effect; ERR when
========================  ================  ==================================
0 RX / 0 PROMISC,         CTRL_RX           u8 on (non-zero = on)
1 ALLMULTI
0 RX / 2 ALLUNI, 3        CTRL_RX_EXTRA     u8 on
NOMULTI, 4 NOUNI, 5
NOBCAST
1 MAC / 0 TABLE_SET       CTRL_RX           le32 n + n MACs (unicast), then the
                                            same for multicast, exactly; more
                                            than 64 entries in all -> overflow
                                            (accept all of that kind, QEMU)
1 MAC / 1 ADDR_SET        CTRL_MAC_ADDR     exactly 6 bytes -> config ``mac``
2 VLAN / 0 ADD, 1 DEL     CTRL_VLAN         le16 vid; ERR if vid >= 4096
3 ANNOUNCE / 0 ACK        GUEST_ANNOUNCE    clears status.ANNOUNCE
4 MQ / 0 VQ_PAIRS_SET     MQ                le16 1..max_virtqueue_pairs
4 MQ / 1 RSS_CONFIG,      RSS / HASH_REP.   (not modelled: never negotiated)
2 HASH_CONFIG
5 GUEST_OFFLOADS / 0 SET  CTRL_GUEST_OFFL.  le64 bitmap, subset of the
                                            negotiated GUEST_* offloads
6 NOTF_COAL / 0 TX_SET,   NOTF_COAL         8-byte coal, all TX (RX) vqs
1 RX_SET
6 NOTF_COAL / 2 VQ_SET    VQ_NOTF_COAL      12-byte coal_vq; ERR unless the vq
                                            is an enabled RX/TX vq
6 NOTF_COAL / 3 VQ_GET    VQ_NOTF_COAL      le16 vq_index (§10 #11: reserved
                                            optional); ack then 8-byte coal;
                                            ERR if not an enabled RX/TX vq or
                                            fewer than 9 writable bytes
anything else             --                ERR
========================  ================  ==================================

A command whose feature is not negotiated answers ERR and has no effect.
Framing errors (fewer than 2 readable bytes or no writable byte) are
DEVICE_NEEDS_RESET (QEMU ``virtio-net ctrl missing headers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Callable, Optional

from .buffers import Buffer
from .coalescing import CoalescingParams
from .errors import DeviceNeedsReset
from .features import NetFeature as F
from .memory import Memory
from .net import NetConfig, NetStatus, QueueRole, queue_role
from .net_rx import MAC_TABLE_ENTRIES, RxFilter

__all__ = ["CtrlClass", "Ack", "CtrlEffectKind", "CtrlEffect", "CtrlOutcome", "NetCtrl", "GUEST_OFFLOAD_BITS"]


class CtrlClass(IntEnum):
    """Control classes (§6.4)."""

    RX = 0
    MAC = 1
    VLAN = 2
    ANNOUNCE = 3
    MQ = 4
    GUEST_OFFLOADS = 5
    NOTF_COAL = 6


class Ack(IntEnum):
    """``ack`` values."""

    OK = 0
    ERR = 1


class CtrlEffectKind(Enum):
    """Side effects the owner of the net function must apply."""

    MAC_CHANGED = "mac_changed"
    PAIRS_CHANGED = "pairs_changed"
    COALESCING = "coalescing"
    RX_FILTER = "rx_filter"
    OFFLOADS = "offloads"
    ANNOUNCE_ACKED = "announce_acked"


@dataclass(frozen=True)
class CtrlEffect:
    """One side effect; ``vq`` and ``value`` depend on the kind."""

    kind: CtrlEffectKind
    vq: Optional[int] = None
    value: object = None


@dataclass(frozen=True)
class CtrlOutcome:
    """Result of one control command."""

    ack: Ack
    result: bytes = b""
    effects: tuple[CtrlEffect, ...] = ()
    klass: int = -1
    command: int = -1

    @property
    def used_len(self) -> int:
        """Bytes written: ack plus result."""
        return 1 + len(self.result)


#: Bits of the GUEST_OFFLOADS bitmap and the feature each needs (§6.4, §10 #10).
GUEST_OFFLOAD_BITS: dict[int, int] = {
    F.GUEST_CSUM: F.GUEST_CSUM,
    F.GUEST_TSO4: F.GUEST_TSO4,
    F.GUEST_TSO6: F.GUEST_TSO6,
    F.GUEST_ECN: F.GUEST_ECN,
    F.GUEST_UFO: F.GUEST_UFO,
    F.GUEST_USO4: F.GUEST_USO4,
    F.GUEST_USO6: F.GUEST_USO6,
    46: F.GUEST_UDP_TUNNEL_GSO,
    47: F.GUEST_UDP_TUNNEL_GSO_CSUM,
}

_ERR = CtrlOutcome(Ack.ERR)
_OK = CtrlOutcome(Ack.OK)


@dataclass
class NetCtrl:
    """Control-plane state of one net function.

    Args:
        config: the device configuration (``mac``, ``status`` are updated).
        vq_enabled: tells whether a vq index is enabled (queue_enable = 1).
    """

    config: NetConfig
    vq_enabled: Callable[[int], bool]
    negotiated: int = 0
    rx_filter: RxFilter = field(default_factory=RxFilter)
    curr_pairs: int = 1
    guest_offloads: int = 0
    tx_coal: CoalescingParams = field(default_factory=CoalescingParams)
    rx_coal: CoalescingParams = field(default_factory=CoalescingParams)
    vq_coal: dict[int, CoalescingParams] = field(default_factory=dict)
    _initial_mac: bytes = b""

    def __post_init__(self) -> None:
        self._initial_mac = self.config.mac
        self.reset()

    # -- lifecycle --------------------------------------------------------------
    def reset(self) -> None:
        """Device reset: every control-plane setting back to its reset value (§1.3)."""
        self.negotiated = 0
        self.config.mac = self._initial_mac
        self.rx_filter.reset(self._initial_mac, vlan_filtering=False)
        self.curr_pairs = 1
        self.guest_offloads = 0
        self.tx_coal = CoalescingParams()
        self.rx_coal = CoalescingParams()
        self.vq_coal = {}

    def set_features(self, negotiated: int) -> None:
        """Called at FEATURES_OK."""
        self.negotiated = negotiated
        self.rx_filter.vlan_filtering = self.has(F.CTRL_VLAN)
        self.guest_offloads = sum(
            1 << bit for bit, feat in GUEST_OFFLOAD_BITS.items() if self.has(feat)
        )

    def has(self, bit: int) -> bool:
        """Feature negotiated."""
        return bool(self.negotiated >> int(bit) & 1)

    def role(self, vq: int) -> tuple[QueueRole, int]:
        """Role of ``vq`` under the negotiated features."""
        return queue_role(vq, self.negotiated, self.config.max_virtqueue_pairs)

    def coalescing(self, vq: int) -> CoalescingParams:
        """Coalescing parameters in force for ``vq`` (last command wins, §6.6)."""
        if vq in self.vq_coal:
            return self.vq_coal[vq]
        role, _ = self.role(vq)
        if role == QueueRole.RX:
            return self.rx_coal
        if role == QueueRole.TX:
            return self.tx_coal
        return CoalescingParams()

    def on_queue_reenabled(self, vq: int) -> None:
        """A vq disabled and re-enabled reverts to the last TX_SET/RX_SET values (§6.6)."""
        self.vq_coal.pop(vq, None)

    # -- requests -------------------------------------------------------------------
    def process(self, buf: Buffer, mem: Memory, queue: Optional[int] = None) -> CtrlOutcome:
        """Execute the request in ``buf``; the ack and result are written to guest memory."""
        if buf.readable_len < 2 or buf.writable_len < 1:
            raise DeviceNeedsReset("net ctrl missing headers", queue)
        limit = self.config.max_ctrl_cmd
        if limit is not None and buf.readable_len > limit:
            out = CtrlOutcome(Ack.ERR)      # the device cannot see the command whole (a device limit)
            buf.scatter(mem, bytes([out.ack]))
            return out
        raw = buf.gather(mem)
        out = self.handle(raw[0], raw[1], raw[2:], buf.writable_len)
        buf.scatter(mem, bytes([out.ack]) + out.result)
        return out

    def handle(self, klass: int, command: int, data: bytes, writable: int = 1) -> CtrlOutcome:
        """Execute one command given its class, command, data and writable room."""
        out = self._dispatch(klass, command, data, writable)
        return CtrlOutcome(out.ack, out.result, out.effects, klass, command)

    def _dispatch(self, klass: int, command: int, data: bytes, writable: int) -> CtrlOutcome:
        if klass == CtrlClass.RX:
            return self._rx_mode(command, data)
        if klass == CtrlClass.MAC:
            return self._mac(command, data)
        if klass == CtrlClass.VLAN:
            return self._vlan(command, data)
        if klass == CtrlClass.ANNOUNCE:
            if command != 0 or not self.has(F.GUEST_ANNOUNCE):
                return _ERR
            self.config.status &= ~NetStatus.ANNOUNCE
            return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.ANNOUNCE_ACKED),))
        if klass == CtrlClass.MQ:
            return self._mq(command, data)
        if klass == CtrlClass.GUEST_OFFLOADS:
            return self._offloads(command, data)
        if klass == CtrlClass.NOTF_COAL:
            return self._coal(command, data, writable)
        return _ERR

    def _rx_mode(self, command: int, data: bytes) -> CtrlOutcome:
        names = {0: "promisc", 1: "allmulti", 2: "alluni", 3: "nomulti", 4: "nouni", 5: "nobcast"}
        if command not in names or not data:
            return _ERR
        if not self.has(F.CTRL_RX if command < 2 else F.CTRL_RX_EXTRA):
            return _ERR
        setattr(self.rx_filter, names[command], data[0] != 0)
        return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.RX_FILTER),))

    def _mac(self, command: int, data: bytes) -> CtrlOutcome:
        if command == 1:
            if not self.has(F.CTRL_MAC_ADDR) or len(data) != 6:
                return _ERR
            self.config.mac = bytes(data)
            self.rx_filter.mac = bytes(data)
            return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.MAC_CHANGED, value=bytes(data)),))
        if command != 0 or not self.has(F.CTRL_RX):
            return _ERR
        tables: list[list[bytes]] = []
        pos = 0
        for last in (False, True):
            if len(data) < pos + 4:
                return _ERR
            n = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
            end = pos + 6 * n
            if end > len(data) or (last and end != len(data)):
                return _ERR
            tables.append([bytes(data[p : p + 6]) for p in range(pos, end, 6)])
            pos = end
        uni, multi = tables
        f = self.rx_filter
        f.uni_overflow = len(uni) > MAC_TABLE_ENTRIES
        f.uni = [] if f.uni_overflow else uni
        f.multi_overflow = len(multi) > MAC_TABLE_ENTRIES - len(f.uni)
        f.multi = [] if f.multi_overflow else multi
        return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.RX_FILTER),))

    def _vlan(self, command: int, data: bytes) -> CtrlOutcome:
        if command not in (0, 1) or not self.has(F.CTRL_VLAN) or len(data) < 2:
            return _ERR
        vid = int.from_bytes(data[:2], "little")
        if vid >= 4096:
            return _ERR
        if command == 0:
            self.rx_filter.vlans.add(vid)
        else:
            self.rx_filter.vlans.discard(vid)
        return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.RX_FILTER),))

    def _mq(self, command: int, data: bytes) -> CtrlOutcome:
        if command != 0 or not self.has(F.MQ) or len(data) < 2:
            return _ERR
        pairs = int.from_bytes(data[:2], "little")
        if not 1 <= pairs <= self.config.max_virtqueue_pairs:
            return _ERR
        self.curr_pairs = pairs
        return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.PAIRS_CHANGED, value=pairs),))

    def _offloads(self, command: int, data: bytes) -> CtrlOutcome:
        if command != 0 or not self.has(F.CTRL_GUEST_OFFLOADS) or len(data) < 8:
            return _ERR
        bitmap = int.from_bytes(data[:8], "little")
        allowed = sum(1 << bit for bit, feat in GUEST_OFFLOAD_BITS.items() if self.has(feat))
        if bitmap & ~allowed:
            return _ERR
        self.guest_offloads = bitmap
        return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.OFFLOADS, value=bitmap),))

    def _rxtx_enabled(self, vq: int) -> bool:
        role, _ = self.role(vq)
        return role in (QueueRole.RX, QueueRole.TX) and self.vq_enabled(vq)

    def _coal(self, command: int, data: bytes, writable: int) -> CtrlOutcome:
        if command in (0, 1):
            if not self.has(F.NOTF_COAL) or len(data) < 8:
                return _ERR
            p = CoalescingParams.unpack(bytes(data[:8]))
            want = QueueRole.TX if command == 0 else QueueRole.RX
            if command == 0:
                self.tx_coal = p
            else:
                self.rx_coal = p
            touched = [vq for vq in range(2 * self.config.max_virtqueue_pairs) if self.role(vq)[0] == want]
            for vq in touched:
                self.vq_coal.pop(vq, None)
            effects = tuple(CtrlEffect(CtrlEffectKind.COALESCING, vq, p) for vq in touched)
            return CtrlOutcome(Ack.OK, effects=effects)
        if command == 2:
            if not self.has(F.VQ_NOTF_COAL) or len(data) < 12:
                return _ERR
            vq = int.from_bytes(data[0:2], "little")
            if not self._rxtx_enabled(vq):
                return _ERR
            p = CoalescingParams.unpack(bytes(data[4:12]))
            self.vq_coal[vq] = p
            return CtrlOutcome(Ack.OK, effects=(CtrlEffect(CtrlEffectKind.COALESCING, vq, p),))
        if command == 3:
            if not self.has(F.VQ_NOTF_COAL) or len(data) < 2:
                return _ERR
            vq = int.from_bytes(data[0:2], "little")
            if not self._rxtx_enabled(vq) or writable < 9:
                return _ERR
            return CtrlOutcome(Ack.OK, self.coalescing(vq).pack())
        return _ERR
