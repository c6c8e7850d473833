"""Function configurations of the vio_virtio_regs focused bench, and their RTL parameters.

One build covers three functions that exercise different corners:

* f0 virtio-net, the default offer of the RTL (ACCESS_PLATFORM offered, so a
  driver that refuses it is rejected), queue max 32768;
* f1 virtio-blk with CONFIG_WCE and RING_RESET, queue max 256;
* f2 virtio-net with a wide offer: every bit of the net dependency table of
  pymodel.features (and the 1.4 bits 64-70, so device_feature_select 2
  matters), NOTIFICATION_DATA, IN_ORDER, RING_RESET, no ACCESS_PLATFORM;
  queue max 300 (not a power of two).

The offers only have to be consistent (pymodel.features.validate_offer):
the register block does not implement the offloads, it only negotiates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pymodel.features import BlkFeature as B
from pymodel.features import DeviceType, NetFeature as N, Transport as T, mask, validate_offer

MSIX_VEC = 64
MAX_QUEUES = 8

# hdl/vio_virtio_regs.sv defaults (BLK_* / NET_* parameters)
BLK_SIZE_MAX = 0x8000
BLK_SEG_MAX = 64
BLK_BLK_SIZE = 512
NET_MTU = 1500
NET_SPEED = 0xFFFF_FFFF
NET_DUPLEX = 0xFF


@dataclass(frozen=True)
class FuncConfig:
    dtype: DeviceType
    features: int
    num_queues: int
    queue_max: int

    @property
    def pairs(self) -> int:
        ctrl = 1 if self.features >> N.CTRL_VQ & 1 else 0
        return (self.num_queues - ctrl) // 2


_TRANSPORT = mask(T.INDIRECT_DESC, T.EVENT_IDX, T.VERSION_1, T.ACCESS_PLATFORM, T.RING_PACKED, T.ORDER_PLATFORM)

#: the RTL's default net offer (FUNC_FEATURES default of function 0)
NET_DEFAULT = _TRANSPORT | mask(
    N.CSUM, N.GUEST_CSUM, N.MTU, N.MAC, N.MRG_RXBUF, N.STATUS, N.CTRL_VQ, N.CTRL_RX, N.CTRL_VLAN, N.MQ,
    N.VQ_NOTF_COAL, N.NOTF_COAL,
)
#: the RTL's default blk offer (FUNC_FEATURES default of function 1)
BLK_DEFAULT = _TRANSPORT | mask(B.SIZE_MAX, B.SEG_MAX, B.BLK_SIZE, B.FLUSH, B.MQ)

NET_WIDE = mask(
    T.INDIRECT_DESC, T.EVENT_IDX, T.VERSION_1, T.RING_PACKED, T.IN_ORDER, T.ORDER_PLATFORM,
    T.NOTIFICATION_DATA, T.NOTIF_CONFIG_DATA, T.RING_RESET,
    *[b for b in N if b not in (N.GSO, N.GUEST_RSC4, N.GUEST_RSC6)],
)

FUNCS = (
    FuncConfig(DeviceType.NET, NET_DEFAULT, 5, 32768),
    FuncConfig(DeviceType.BLK, BLK_DEFAULT | mask(B.CONFIG_WCE, T.RING_RESET), 2, 256),
    FuncConfig(DeviceType.NET, NET_WIDE, 7, 300),
)

for _i, _f in enumerate(FUNCS):
    _bad = validate_offer(_f.dtype, _f.features)
    assert _bad is None, f"bench function {_i}: {_bad}"


def _vector(values, width: int) -> str:
    word = 0
    for i, v in enumerate(values):
        word |= int(v) << (width * i)
    total = width * len(values)
    return f"{total}'h{word:0{total // 4}x}"


def rtl_parameters(funcs=FUNCS) -> Mapping[str, object]:
    """Verilog parameters of vio_virtio_regs for ``funcs`` (function 0 in the low bits)."""
    return {
        "NUM_FUNC": len(funcs),
        "MAX_QUEUES": MAX_QUEUES,
        "MSIX_VEC": MSIX_VEC,
        "FUNC_TYPE": _vector([int(f.dtype) for f in funcs], 8),
        "FUNC_FEATURES": _vector([f.features for f in funcs], 128),
        "FUNC_NUM_QUEUES": _vector([f.num_queues for f in funcs], 16),
        "FUNC_QUEUE_MAX": _vector([f.queue_max for f in funcs], 16),
    }
