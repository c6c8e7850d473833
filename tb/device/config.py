"""The functions of the device build (hdl/vio_device_top.sv) and their RTL parameters.

One source of truth: the bench passes these values to the RTL as parameters
and builds pymodel's :class:`~pymodel.function.FunctionConfig` from the same
table, so the golden model and the RTL always describe the same device.

* f0: virtio-blk, read-write, 4 request queues (MQ), FLUSH;
* f1: virtio-blk, read-only (RO offered: every OUT gets IOERR, §7), 2 queues.

Both offer INDIRECT_DESC, EVENT_IDX, RING_PACKED and queues up to 32768.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pymodel.blk_config import BlkConfig
from pymodel.disk import Disk
from pymodel.features import BlkFeature as B
from pymodel.features import DeviceType, Transport as T, mask, validate_offer
from pymodel.function import FunctionConfig

MSIX_VEC = 16
MAX_QUEUES = 4
MAX_SEGS = 64                 # descriptors per blk request (vio_blk_req); pymodel max_chain
BLK_SEG_MAX = MAX_SEGS - 2    # data segments: header and status take two
BLK_SIZE_MAX = 0x1_0000
CHUNK = 4096
BLK_ENGINES = 2               # blk requests in flight at once (vio_blk_req engines)

_TRANSPORT = mask(T.INDIRECT_DESC, T.EVENT_IDX, T.VERSION_1, T.ACCESS_PLATFORM, T.RING_PACKED, T.ORDER_PLATFORM)
BLK_RW = _TRANSPORT | mask(B.SIZE_MAX, B.SEG_MAX, B.BLK_SIZE, B.FLUSH, B.MQ)
BLK_RO = BLK_RW | mask(B.RO)


@dataclass(frozen=True)
class DevFunc:
    features: int
    num_queues: int
    queue_max: int
    capacity: int        # sectors of the disk behind it
    serial: str


FUNCS = (
    DevFunc(BLK_RW, 4, 32768, 4096, "VIO-BLK-PF0-RW"),
    DevFunc(BLK_RO, 2, 32768, 1024, "VIO-BLK-PF1-READONLY"),
)

for _i, _f in enumerate(FUNCS):
    _bad = validate_offer(DeviceType.BLK, _f.features)
    assert _bad is None, f"device function {_i}: {_bad}"


def _vector(values, width: int) -> str:
    word = 0
    for i, v in enumerate(values):
        word |= int(v) << (width * i)
    total = width * len(values)
    return f"{total}'h{word:0{total // 4}x}"


def rtl_parameters(funcs=FUNCS) -> Mapping[str, object]:
    """Verilog parameters of vio_device_top for ``funcs`` (function 0 in the low bits)."""
    return {
        "NUM_FUNC": len(funcs),
        "MAX_QUEUES": MAX_QUEUES,
        "MSIX_VEC": MSIX_VEC,
        "FUNC_FEATURES": _vector([f.features for f in funcs], 128),
        "FUNC_NUM_QUEUES": _vector([f.num_queues for f in funcs], 16),
        "FUNC_QUEUE_MAX": _vector([f.queue_max for f in funcs], 16),
        "BLK_SIZE_MAX": BLK_SIZE_MAX,
        "BLK_SEG_MAX": BLK_SEG_MAX,
        "MAX_SEGS": MAX_SEGS,
        "CHUNK": CHUNK,
        "BLK_ENGINES": BLK_ENGINES,
    }


def function_config(f: DevFunc, disk: Disk) -> FunctionConfig:
    """The golden model's view of ``f`` over ``disk`` (its own copy of the image)."""
    return FunctionConfig(
        device_type=DeviceType.BLK,
        features=f.features,
        queue_sizes=[f.queue_max] * f.num_queues,
        msix_vectors=MSIX_VEC,
        blk=BlkConfig(capacity=disk.capacity, size_max=BLK_SIZE_MAX, seg_max=BLK_SEG_MAX, blk_size=512,
                      num_queues=f.num_queues),
        disk=disk,
        serial=f.serial,
        max_chain=MAX_SEGS,
    )


def serial_bits(funcs=FUNCS) -> int:
    """The blk_serial input: 20 bytes per function, byte 0 lowest."""
    word = 0
    for i, f in enumerate(funcs):
        word |= int.from_bytes(f.serial.encode("ascii").ljust(20, b"\0"), "little") << (160 * i)
    return word
