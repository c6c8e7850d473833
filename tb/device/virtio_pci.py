"""Driver model: a virtio-pci modern function as Linux drives it, and virtio-blk on top.

:class:`VirtioPciDevice` mirrors ``drivers/virtio/virtio_pci_modern.c`` and
the virtio core: find the vendor capabilities in config space, reset and wait
for 0, ACKNOWLEDGE, DRIVER, read the offer, write the driver features,
FEATURES_OK and read it back, MSI-X vectors (0 = config, 1.. = queues, like
``vp_find_vqs_msix`` with per-vq vectors), queues set up one by one with rings
in root-complex memory and enabled after all are configured, DRIVER_OK.
Every register access goes through :meth:`rd` / :meth:`wr` so the scoreboard
sees exactly what the device sees.

:class:`BlkDriver` mirrors ``drivers/block/virtio_blk.c``: one request =
header (16 B, readable) + data + status byte (writable), as separate
descriptors or through an indirect table; completion handling like
``virtblk_done`` (disable callbacks, drain, re-enable with
``virtqueue_enable_cb_delayed`` semantics, drain again if something raced in).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from typing import Optional

from cocotb.triggers import Event, First, Timer
from cocotbext.pcie.core.pci import PciCapId

from pymodel.features import Transport as T
from pymodel.function import Region
from pymodel.memory import BumpAllocator
from pymodel.packed_driver import PackedRingDriver, UsedBuffer
from pymodel.packed_layout import DESC_SIZE
from tb.util import now

# device_status bits
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, NEEDS_RESET, FAILED = 1, 2, 4, 8, 0x40, 0x80
# common configuration offsets (virtio.md §3.3)
DFSELECT, DF, GFSELECT, GF, MSIX_CONFIG, NUM_QUEUES, STATUS, CFG_GEN = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x12, 0x14, 0x15
Q_SELECT, Q_SIZE, Q_MSIX, Q_ENABLE, Q_NOTIFY_OFF = 0x16, 0x18, 0x1A, 0x1C, 0x1E
Q_DESC, Q_DRIVER, Q_DEVICE = 0x20, 0x28, 0x30
NO_VECTOR = 0xFFFF

CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_DEVICE, CAP_PCI = 1, 2, 3, 4, 5


class HostMem:
    """A root-complex memory region as pymodel's Memory; host writes are teed to the scoreboard."""

    def __init__(self, region, tee=None) -> None:
        self.region = region
        self.base = region.get_absolute_address(0)
        self.size = region.size
        self.tee = tee

    def _off(self, addr: int, n: int) -> int:
        off = addr - self.base
        if off < 0 or off + n > self.size:
            raise ValueError(f"host access [{addr:#x}, +{n}) outside the region at {self.base:#x}")
        return off

    def read(self, addr: int, n: int) -> bytes:
        off = self._off(addr, n)
        return bytes(self.region.mem[off:off + n])

    def write(self, addr: int, data: bytes) -> None:
        off = self._off(addr, len(data))
        self.region.mem[off:off + len(data)] = bytes(data)
        if self.tee is not None:
            self.tee(addr, bytes(data))


@dataclass
class Vq:
    index: int
    size: int
    vector: int
    ring: PackedRingDriver
    notify_addr: int


class VirtioPciDevice:
    """One virtio-pci function as the Linux driver core drives it."""

    def __init__(self, tb, fid: int, mem: HostMem, alloc: BumpAllocator) -> None:
        self.tb = tb
        self.fid = fid
        self.pf = tb.pf[fid]
        self.bar = tb.bar[fid]
        self.sb = tb.sb
        self.mem = mem
        self.alloc = alloc
        self.log = logging.getLogger(f"cocotb.tb.drv{fid}")
        self.caps: dict[int, tuple[int, int, int]] = {}     # cfg_type -> (bar, offset, length)
        self.notify_mult = 0
        self.offered = 0
        self.features = 0
        self.vqs: dict[int, Vq] = {}
        self.irq_events: dict[int, Event] = {}
        self.irq_count: dict[int, int] = {}

    # -- registers ----------------------------------------------------------------------
    def _base(self, region: Region) -> int:
        if region == Region.COMMON:
            return self.caps[CAP_COMMON][1]
        if region == Region.ISR:
            return self.caps[CAP_ISR][1]
        if region == Region.DEVICE:
            return self.caps[CAP_DEVICE][1]
        if region == Region.NOTIFY:
            return self.caps[CAP_NOTIFY][1]
        raise ValueError(region)

    async def rd(self, region: Region, off: int, width: int) -> int:
        val = int.from_bytes(await self.bar.read(self._base(region) + off, width), "little")
        self.sb.on_register_read(self.fid, region, off, width, val)
        return val

    async def wr(self, region: Region, off: int, width: int, value: int) -> None:
        self.sb.on_register_write(self.fid, region, off, width, value)
        await self.bar.write(self._base(region) + off, value.to_bytes(width, "little"))

    async def status(self) -> int:
        return await self.rd(Region.COMMON, STATUS, 1)

    # -- probe ---------------------------------------------------------------------------------
    async def probe(self) -> None:
        """virtio_pci_find_capability for every cfg_type."""
        ptr = await self.pf.config_read_byte(0x34) & 0xFC
        while ptr:
            raw = await self.pf.config_read(ptr, 20)
            if raw[0] == 0x09 and raw[3] not in self.caps:
                self.caps[raw[3]] = (raw[4], int.from_bytes(raw[8:12], "little"), int.from_bytes(raw[12:16], "little"))
                if raw[3] == CAP_NOTIFY:
                    self.notify_mult = int.from_bytes(raw[16:20], "little")
            ptr = raw[1] & 0xFC
        for t in (CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_DEVICE):
            assert t in self.caps, f"{now()}: fn {self.fid}: virtio capability {t} not found ({self.caps})"

    # -- init ----------------------------------------------------------------------------------
    async def reset(self, timeout_us: float = 200) -> None:
        """vp_modern_set_status(0) and poll until it reads 0 (vp_reset)."""
        await self.wr(Region.COMMON, STATUS, 1, 0)
        for _ in range(int(timeout_us)):
            if await self.status() == 0:
                self.vqs.clear()
                return
            await self.tb.idle(250)
        raise AssertionError(f"{now()}: fn {self.fid}: device_status did not read 0 within {timeout_us} us of reset")

    async def read_offer(self) -> int:
        word = 0
        for sel in range(4):
            await self.wr(Region.COMMON, DFSELECT, 4, sel)
            word |= await self.rd(Region.COMMON, DF, 4) << (32 * sel)
        return word

    async def negotiate(self, want: Optional[int] = None) -> bool:
        """Reset, ACK, DRIVER, features, FEATURES_OK; True if the device kept FEATURES_OK."""
        await self.reset()
        await self.wr(Region.COMMON, STATUS, 1, ACKNOWLEDGE)
        await self.wr(Region.COMMON, STATUS, 1, ACKNOWLEDGE | DRIVER)
        self.offered = await self.read_offer()
        self.features = self.offered if want is None else want
        for sel in range(2):
            await self.wr(Region.COMMON, GFSELECT, 4, sel)
            await self.wr(Region.COMMON, GF, 4, (self.features >> (32 * sel)) & 0xFFFF_FFFF)
        await self.wr(Region.COMMON, STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK)
        return bool(await self.status() & FEATURES_OK)

    async def setup_msix(self) -> None:
        """pci_alloc_irq_vectors (cocotbext-pcie programs the table); the scoreboard learns the same entries."""
        if not self.pf.msix_enabled:
            n = await self.pf.alloc_irq_vectors(1, self.tb.msix_vec)
            assert n == self.tb.msix_vec, f"{now()}: fn {self.fid}: {n} MSI-X vectors"
        for k, v in enumerate(self.pf.msi_vectors):
            for off, val in ((0, v.addr & 0xFFFF_FFFC), (4, v.addr >> 32), (8, v.data), (12, 0)):
                self.sb.on_register_write(self.fid, Region.MSIX_TABLE, 16 * k + off, 4, val)
            self.irq_events.setdefault(k, Event())
            self.irq_count.setdefault(k, 0)
        ctrl = await self.pf.capability_read_dword(PciCapId.MSIX, 0)
        self.sb.on_msix_control(self.fid, ctrl >> 16)

    def on_msix(self, data: int) -> None:
        for k, v in enumerate(self.pf.msi_vectors):
            if v.data == data:
                self.irq_count[k] += 1
                self.irq_events[k].set()

    async def setup_queue(self, index: int, size: Optional[int] = None, vector: Optional[int] = None,
                          callbacks: bool = True) -> Vq:
        """vp_modern setup_vq: size, rings, vector (not enabled yet)."""
        await self.wr(Region.COMMON, Q_SELECT, 2, index)
        qmax = await self.rd(Region.COMMON, Q_SIZE, 2)
        size = qmax if size is None else size
        assert 1 <= size <= qmax, f"fn {self.fid} vq {index}: size {size} > max {qmax}"
        await self.wr(Region.COMMON, Q_SIZE, 2, size)
        desc = self.alloc.alloc(DESC_SIZE * size, 16)
        drv = self.alloc.alloc(4, 4)
        dev = self.alloc.alloc(4, 4)
        ring = PackedRingDriver(self.mem, size, desc, drv, dev, event_idx=bool(self.features >> T.EVENT_IDX & 1),
                                callbacks=callbacks)
        for reg, val in ((Q_DESC, desc), (Q_DRIVER, drv), (Q_DEVICE, dev)):
            await self.wr(Region.COMMON, reg, 4, val & 0xFFFF_FFFF)
            await self.wr(Region.COMMON, reg + 4, 4, val >> 32)
        vec = index + 1 if vector is None else vector
        await self.wr(Region.COMMON, Q_MSIX, 2, vec)
        got = await self.rd(Region.COMMON, Q_MSIX, 2)
        assert got == vec, f"{now()}: fn {self.fid} vq {index}: queue_msix_vector reads {got:#x}, wrote {vec:#x}"
        noff = await self.rd(Region.COMMON, Q_NOTIFY_OFF, 2)
        vq = Vq(index, size, vec, ring, self.caps[CAP_NOTIFY][1] + noff * self.notify_mult)
        self.vqs[index] = vq
        return vq

    async def enable_queue(self, index: int) -> None:
        await self.wr(Region.COMMON, Q_SELECT, 2, index)
        await self.wr(Region.COMMON, Q_ENABLE, 2, 1)

    async def init(self, queue_sizes: dict[int, int], want: Optional[int] = None, config_vector: int = 0) -> None:
        """The whole probe sequence of virtio_dev_probe + vp_modern_find_vqs, ending with DRIVER_OK."""
        if not self.caps:
            await self.probe()
        ok = await self.negotiate(want)
        assert ok, f"{now()}: fn {self.fid}: FEATURES_OK refused for {self.features:#x} (offer {self.offered:#x})"
        await self.setup_msix()
        await self.wr(Region.COMMON, MSIX_CONFIG, 2, config_vector)
        assert await self.rd(Region.COMMON, MSIX_CONFIG, 2) == config_vector
        for q, size in queue_sizes.items():
            await self.setup_queue(q, size)
        for q in queue_sizes:
            await self.enable_queue(q)
        await self.wr(Region.COMMON, STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)

    # -- notifications ----------------------------------------------------------------------------
    async def kick(self, index: int, force: bool = False) -> bool:
        """virtqueue_kick: notify if the device event suppression asks for it."""
        vq = self.vqs[index]
        if vq.ring.kick_prepare() or force:
            self.sb.on_register_write(self.fid, Region.NOTIFY, vq.notify_addr - self.caps[CAP_NOTIFY][1], 2, index)
            await self.bar.write(vq.notify_addr, index.to_bytes(2, "little"))
            return True
        return False

    async def wait_irq(self, vector: int, timeout_us: float) -> bool:
        """Wait for an MSI-X message on ``vector``; False on timeout."""
        return await self.wait_any_irq([vector], timeout_us) is not None

    async def wait_any_irq(self, vectors, timeout_us: float) -> Optional[int]:
        """Wait for an MSI-X message on any of ``vectors``; returns the vector (event cleared) or None."""
        for v in vectors:
            if self.irq_events[v].is_set():
                self.irq_events[v].clear()
                return v
        timer = Timer(max(1, round(timeout_us * 1000)), "ns")
        await First(*[self.irq_events[v].wait() for v in vectors], timer)
        for v in vectors:
            if self.irq_events[v].is_set():
                self.irq_events[v].clear()
                return v
        return None


# ---------------------------------------------------------------------------------------------- blk
BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID = 0, 1, 4, 8
BLK_S_OK, BLK_S_IOERR, BLK_S_UNSUPP = 0, 1, 2


@dataclass
class BlkReq:
    """One request and where its pieces live in host memory."""

    type: int
    sector: int
    out_data: bytes = b""          # OUT payload
    in_len: int = 0                # IN / GET_ID data room
    hdr: int = 0
    data: int = 0
    status: int = 0
    id: int = -1
    vq: int = 0
    done: bool = False
    used_len: int = -1
    result: int = -1
    read_back: bytes = b""
    extra: dict = field(default_factory=dict)


class BlkDriver:
    """virtio_blk.c on a VirtioPciDevice: submit, kick, complete."""

    def __init__(self, dev: VirtioPciDevice, indirect: bool = False, split_data: int = 0) -> None:
        self.dev = dev
        self.indirect = indirect and bool(dev.features >> T.INDIRECT_DESC & 1)
        self.split_data = split_data   # >0: data in pieces of this many bytes (several descriptors)
        self.inflight: dict[tuple[int, int], BlkReq] = {}
        self.completed: list[BlkReq] = []

    def _sgs(self, r: BlkReq) -> tuple[list, list]:
        out = [(r.hdr, 16)]
        inn = []
        if r.type == BLK_T_OUT and r.out_data:
            out += self._pieces(r.data, len(r.out_data))
        elif r.in_len:
            inn += self._pieces(r.data, r.in_len)
        inn.append((r.status, 1))
        return out, inn

    def _pieces(self, addr: int, n: int) -> list[tuple[int, int]]:
        step = self.split_data or n
        return [(addr + o, min(step, n - o)) for o in range(0, n, step)]

    def prepare(self, rtype: int, sector: int, out_data: bytes = b"", in_len: int = 0, vq: int = 0) -> BlkReq:
        mem, alloc = self.dev.mem, self.dev.alloc
        r = BlkReq(rtype, sector, out_data, in_len, vq=vq)
        r.hdr = alloc.alloc(16, 16)
        mem.write(r.hdr, struct.pack("<IIQ", rtype, 0, sector))
        n = len(out_data) if rtype == BLK_T_OUT else in_len
        r.data = alloc.alloc(max(n, 1), 64)
        if rtype == BLK_T_OUT and out_data:
            mem.write(r.data, out_data)
        r.status = alloc.alloc(1, 1)
        mem.write(r.status, b"\xEE")     # poison: the device must overwrite it
        return r

    def post(self, r: BlkReq) -> int:
        ring = self.dev.vqs[r.vq].ring
        out, inn = self._sgs(r)
        table = None
        if self.indirect and len(out) + len(inn) > 1:
            table = self.dev.alloc.alloc(16 * (len(out) + len(inn)), 16)
        r.id = ring.add(out, inn, indirect_table=table)
        self.inflight[(r.vq, r.id)] = r
        return r.id

    def slots_needed(self, r: BlkReq) -> int:
        out, inn = self._sgs(r)
        return 1 if self.indirect and len(out) + len(inn) > 1 else len(out) + len(inn)

    def reap(self, vq: int) -> list[BlkReq]:
        """virtblk_done: drain used buffers of ``vq`` (callbacks re-armed by the caller)."""
        ring = self.dev.vqs[vq].ring
        got = []
        for u in ring.drain():
            got.append(self._complete(vq, u))
        return got

    def _complete(self, vq: int, u: UsedBuffer) -> BlkReq:
        r = self.inflight.pop((vq, u.id), None)
        assert r is not None, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: used id {u.id} is not in flight"
        r.done = True
        r.used_len = u.len
        r.result = self.dev.mem.read(r.status, 1)[0]
        n = r.in_len if r.type in (BLK_T_IN, BLK_T_GET_ID) else 0
        r.read_back = self.dev.mem.read(r.data, n) if n else b""
        self.completed.append(r)
        return r
