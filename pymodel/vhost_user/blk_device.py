"""virtio-blk over vhost-user: pymodel's :class:`pymodel.blk.BlkDevice` on a ring.

Every request is executed by :meth:`pymodel.blk.BlkDevice.process` (header
parsing, status byte, used length, disk update); this adapter only pops
buffers from the ring, pushes them back used with the length pymodel
computed, and keeps counters.  The configuration space answered to
GET_CONFIG is pymodel's :class:`pymodel.blk_config.BlkConfig`.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from ..blk import BlkDevice, BlkOutcome, BlkReqType
from ..blk_config import WRITEBACK_OFFSET, BlkConfig
from ..disk import Disk
from ..features import BlkFeature, DeviceType, Transport, mask, validate_offer
from .device import VhostDevice
from .guest_memory import GuestMemory
from .protocol import ProtocolFeature
from .vring import Vring

__all__ = ["VhostBlkDevice", "DEFAULT_BLK_FEATURES"]

#: What the device offers by default: modern transport, both ring layouts,
#: indirect tables, EVENT_IDX, and the blk bits Linux uses for a plain disk.
DEFAULT_BLK_FEATURES = mask(
    Transport.VERSION_1,
    Transport.RING_PACKED,
    Transport.EVENT_IDX,
    Transport.INDIRECT_DESC,
    BlkFeature.SEG_MAX,
    BlkFeature.BLK_SIZE,
    BlkFeature.FLUSH,
    BlkFeature.CONFIG_WCE,
)


class VhostBlkDevice(VhostDevice):
    """A virtio-blk device backed by ``disk``.

    Args:
        disk: pymodel backing store (file image or memory).
        features: offered feature word (checked by
            :func:`pymodel.features.validate_offer`).
        queue_size: the front-end's queue size, used for ``seg_max``.
        serial: GET_ID string.

    Attributes:
        counts: completed requests by type name (``IN``, ``OUT``, ``FLUSH``...).
        bytes_read / bytes_written: data moved by IN / OUT requests.
        outcomes: the last few :class:`pymodel.blk.BlkOutcome` (bounded).
    """

    device_type = DeviceType.BLK
    num_queues = 1
    protocol_features = 1 << ProtocolFeature.CONFIG

    def __init__(
        self,
        disk: Disk,
        *,
        features: int = DEFAULT_BLK_FEATURES,
        queue_size: int = 128,
        serial: str = "pymodel-vhost",
    ) -> None:
        super().__init__()
        problem = validate_offer(DeviceType.BLK, features)
        if problem:
            raise ValueError(f"inconsistent blk offer: {problem}")
        self._offered = features
        config = BlkConfig(seg_max=max(1, queue_size - 2), blk_size=512, writeback=1)
        self.blk = BlkDevice(disk, config, features, serial)
        self.disk = disk
        self.counts: Counter[str] = Counter()
        self.bytes_read = 0
        self.bytes_written = 0
        self.last_outcome: Optional[BlkOutcome] = None

    def offered_features(self) -> int:
        return self._offered

    def set_features(self, features: int) -> None:
        super().set_features(features)
        self.blk.set_features(features)

    def config(self) -> bytes:
        return self.blk.config.pack()

    def set_config(self, offset: int, data: bytes) -> None:
        # only the writeback byte is writable (pymodel decides)
        if offset <= WRITEBACK_OFFSET < offset + len(data):
            value = data[WRITEBACK_OFFSET - offset]
            self.blk.config_write(WRITEBACK_OFFSET, 1, value, features_ok=True)

    def reset(self) -> None:
        self.blk.reset()

    def process(self, vq: Vring, mem: GuestMemory) -> int:
        done = 0
        while (buf := vq.pop()) is not None:
            out = self.blk.process(buf, mem, queue=vq.index)
            vq.push_used(buf, out.used_len)
            try:
                name = BlkReqType(out.type).name
            except ValueError:
                name = f"type{out.type}"
            self.counts[name] += 1
            if out.type == BlkReqType.IN:
                self.bytes_read += len(out.data)
            elif out.type == BlkReqType.OUT:
                self.bytes_written += sum(len(op.data or b"") for op in out.ops)
            self.last_outcome = out
            done += 1
        return done
