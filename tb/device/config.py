"""The functions of the device builds (hdl/vio_device_top.sv) and their RTL parameters.

One source of truth: the bench passes these values to the RTL as parameters
and builds pymodel's :class:`~pymodel.function.FunctionConfig` from the same
table, so the golden model and the RTL always describe the same device.

Two builds:

* ``FUNCS`` (the default, ``make sim``'s SR-IOV device): PF0 virtio-net and
  PF1 virtio-blk, each with TotalVFs = 4 VFs of its own type. Rows are ARI
  function numbers: f0 PF0 net, f1 PF1 blk (RW, 4 queues), f2..f5 the VFs of
  PF0 (net, 1 pair + controlq), f6..f9 the VFs of PF1 (blk, 2 queues; f9 is
  a read-only disk: RO offered, a per-VF provisioning example). The PFs
  offer VIRTIO_F_SR_IOV (virtio.md §3.7), the VFs do not.
* ``CLASSIC`` (no SR-IOV, the blk / net / transport benches): f0 virtio-blk
  read-write 4 queues, f1 virtio-blk read-only 2 queues, f2 virtio-net with
  2 pairs + controlq.

virtio-net functions: MQ, CTRL_VQ/RX/VLAN, GUEST_ANNOUNCE, MRG_RXBUF, CSUM
offload, NOTF_COAL + VQ_NOTF_COAL, the control plane served by the firmware
(firmware/) through the management port. All offer INDIRECT_DESC, EVENT_IDX,
RING_PACKED and queues up to 32768.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from pymodel.blk_config import BlkConfig
from pymodel.disk import Disk
from pymodel.features import BlkFeature as B
from pymodel.features import DeviceType, NetFeature as N, Transport as T, mask, validate_offer
from pymodel.function import FunctionConfig
from pymodel.net import NetConfig

MSIX_VEC = 16
MAX_QUEUES = 8
MAX_SEGS = 64                 # descriptors per blk request (vio_blk_req); pymodel max_chain
BLK_SEG_MAX = MAX_SEGS - 2    # data segments: header and status take two
BLK_SIZE_MAX = 0x1_0000
CHUNK = 4096
BLK_ENGINES = 2               # blk requests in flight at once (vio_blk_req engines)

_TRANSPORT = mask(T.INDIRECT_DESC, T.EVENT_IDX, T.VERSION_1, T.ACCESS_PLATFORM, T.RING_PACKED, T.ORDER_PLATFORM)
BLK_RW = _TRANSPORT | mask(B.SIZE_MAX, B.SEG_MAX, B.BLK_SIZE, B.FLUSH, B.MQ)
BLK_RO = BLK_RW | mask(B.RO)
NET = _TRANSPORT | mask(N.CSUM, N.GUEST_CSUM, N.CTRL_GUEST_OFFLOADS, N.MTU, N.MAC, N.MRG_RXBUF, N.STATUS, N.CTRL_VQ,
                        N.CTRL_RX, N.CTRL_VLAN, N.GUEST_ANNOUNCE, N.MQ, N.CTRL_MAC_ADDR, N.VQ_NOTF_COAL, N.NOTF_COAL)
NET_MTU = 1500
NET_MAX_FRAME = 9018          # longest frame the network port carries (vio_net_tx / vio_net_rx)
MB_WORDS = 64                 # control-queue mailbox words (the register map's CMD_DATA / RSP_DATA)
US_CYCLES = 250               # device clock cycles per microsecond (250 MHz user clock)


@dataclass(frozen=True)
class DevFunc:
    features: int
    num_queues: int
    queue_max: int
    capacity: int = 0         # blk: sectors of the disk behind it
    serial: str = ""
    kind: DeviceType = DeviceType.BLK
    mac: bytes = b""          # net: the MAC the firmware provisions (and the RTL's FUNC_MAC reset value)
    parent: Optional[int] = None  # a VF: the PF it belongs to; a PF: None
    total_vfs: int = 0        # a PF: its SR-IOV TotalVFs

    @property
    def is_vf(self) -> bool:
        return self.parent is not None

    @property
    def is_net(self) -> bool:
        return self.kind == DeviceType.NET

    @property
    def max_pairs(self) -> int:
        return (self.num_queues - 1) // 2 if self.is_net else 0

    @property
    def device_id(self) -> int:
        return 0x1040 + int(self.kind)


CLASSIC = (
    DevFunc(BLK_RW, 4, 32768, 4096, "VIO-BLK-PF0-RW"),
    DevFunc(BLK_RO, 2, 32768, 1024, "VIO-BLK-PF1-READONLY"),
    DevFunc(NET, 5, 32768, kind=DeviceType.NET, mac=bytes.fromhex("525400a0b0c2")),
)

NUM_VFS = 4                   # TotalVFs of each PF in the default build
SRIOV = mask(T.SR_IOV)
VF_QUEUE_MAX = 1024


def _sriov_funcs() -> tuple[DevFunc, ...]:
    pfs = (
        DevFunc(NET | SRIOV, 5, 32768, kind=DeviceType.NET, mac=bytes.fromhex("525400a0b000"), total_vfs=NUM_VFS),
        DevFunc(BLK_RW | SRIOV, 4, 32768, 2048, "VIO-BLK-PF1", total_vfs=NUM_VFS),
    )
    vfs = []
    for k in range(1, NUM_VFS + 1):
        vfs.append(DevFunc(NET, 3, VF_QUEUE_MAX, kind=DeviceType.NET, mac=bytes.fromhex(f"525400a0b1{k:02x}"),
                           parent=0))
    for k in range(1, NUM_VFS + 1):
        ro = k == NUM_VFS
        vfs.append(DevFunc(BLK_RO if ro else BLK_RW, 2, VF_QUEUE_MAX, 256,
                           f"VIO-BLK-VF{k}{'-RO' if ro else ''}", parent=1))
    return pfs + tuple(vfs)


FUNCS = _sriov_funcs()

for _name, _table in (("FUNCS", FUNCS), ("CLASSIC", CLASSIC)):
    for _i, _f in enumerate(_table):
        _bad = validate_offer(_f.kind, _f.features)
        assert _bad is None, f"{_name} function {_i}: {_bad}"


def _vector(values, width: int) -> str:
    word = 0
    for i, v in enumerate(values):
        word |= int(v) << (width * i)
    total = width * len(values)
    return f"{total}'h{word:0{total // 4}x}"


def num_pf(funcs=FUNCS) -> int:
    """PFs of a function table (they come first)."""
    return sum(1 for f in funcs if not f.is_vf)


def rtl_parameters(funcs=FUNCS) -> Mapping[str, object]:
    """Verilog parameters of vio_device_top for ``funcs`` (function 0 in the low bits)."""
    npf = num_pf(funcs)
    assert all(not f.is_vf for f in funcs[:npf]), "PFs come first"
    assert [f.parent for f in funcs[npf:]] == sorted(f.parent for f in funcs[npf:]), "VFs ordered by PF"
    assert all(sum(1 for v in funcs if v.parent == p) == funcs[p].total_vfs for p in range(npf))
    return {
        "NUM_FUNC": len(funcs),
        "NUM_PF": npf,
        "PF_TOTAL_VF": "64'h" + "".join(f"{(funcs[p].total_vfs if p < npf else 0):04x}" for p in reversed(range(4))),
        "MAX_QUEUES": MAX_QUEUES,
        "MSIX_VEC": MSIX_VEC,
        "FUNC_TYPE": _vector([int(f.kind) for f in funcs], 8),
        "FUNC_MAC": _vector([int.from_bytes(f.mac or bytes(6), "big") for f in funcs], 48),
        "FUNC_FEATURES": _vector([f.features for f in funcs], 128),
        "FUNC_NUM_QUEUES": _vector([f.num_queues for f in funcs], 16),
        "FUNC_QUEUE_MAX": _vector([f.queue_max for f in funcs], 16),
        "BLK_SIZE_MAX": BLK_SIZE_MAX,
        "BLK_SEG_MAX": BLK_SEG_MAX,
        "MAX_SEGS": MAX_SEGS,
        "CHUNK": CHUNK,
        "BLK_ENGINES": BLK_ENGINES,
        "NET_MTU": NET_MTU,
        "NET_MAX_FRAME": NET_MAX_FRAME,
        "MB_WORDS": MB_WORDS,
        "US_CYCLES": US_CYCLES,
    }


def function_config(f: DevFunc, disk: Optional[Disk]) -> FunctionConfig:
    """The golden model's view of ``f`` (blk: over ``disk``, its own copy of the image).

    A net function starts with the link down: the RTL's net_status resets to 0
    and the firmware raises LINK_UP when it provisions the function (the
    bench reports that to the checker as a link change).
    """
    if f.is_net:
        return FunctionConfig(
            device_type=DeviceType.NET,
            features=f.features,
            queue_sizes=[f.queue_max] * f.num_queues,
            msix_vectors=MSIX_VEC,
            net=NetConfig(mac=f.mac, status=0, max_virtqueue_pairs=f.max_pairs, mtu=NET_MTU,
                          max_frame=NET_MAX_FRAME, max_ctrl_cmd=MB_WORDS * 4),
            max_chain=MAX_SEGS,
        )
    assert disk is not None
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
