"""Focused bench for vio_dma_wr (local buffer RAM -> host memory, MemWr on RQ).

The DUT runs alone. The bench gives it

* a local buffer RAM model: a bytearray with random content, answering
  ``ram_rd_en``/``ram_rd_addr`` with the row on ``ram_rd_data`` one cycle
  later (random junk on cycles without a read);
* an RQ sink (cocotbext-pcie ``RqSink``) whose frames are parsed with
  ``Tlp_us.unpack_us_rq``, checked one by one against the descriptor they
  must belong to (MemWr, at most MPS, no 4 KiB crossing, byte enables,
  length, requester function, contiguous in descriptor order, payload
  bytes equal to the RAM snapshot taken at submission) and applied to a host
  memory model;
* a status monitor: each status must name the oldest outstanding descriptor,
  carry DMA_OK and arrive only after all its bytes went out; the host memory
  as it stands after that descriptor's last TLP (later descriptors' TLPs may
  already be on the wire and are applied at their own status) must then equal
  the expected image (previous image + that descriptor's bytes), so a write
  outside the target range fails too.

Every failure names the checking function, the descriptor tag (and TLP
address / offset where there is one), expected and actual values and the
simulation time.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.xilinx.us.interface import RqSink
from cocotbext.pcie.xilinx.us.tlp import Tlp_us

DMA_OK = 0
PAGE = 4096
ADDR_MASK = (1 << 64) - 1
FIRST_BE_OK = {0x1, 0x3, 0x7, 0xF, 0x2, 0x6, 0xE, 0x4, 0xC, 0x8}  # contiguous masks (1-DW TLP)
FIRST_BE_MULTI = {0xF, 0xE, 0xC, 0x8}   # first DW of a multi-DW TLP: runs up to byte 3
LAST_BE_MULTI = {0xF, 0x7, 0x3, 0x1}    # last DW of a multi-DW TLP: starts at byte 0


class CheckError(AssertionError):
    pass


def now() -> str:
    return f"{get_sim_time('ns'):.0f} ns"


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------


class HostMemory:
    """Sparse 64-bit host memory whose pages start with seeded random bytes.

    Two instances built with the same salt start identical, so comparing the
    DUT-written copy with the expected copy also catches stray writes.
    """

    def __init__(self, salt: int) -> None:
        self.salt = salt
        self.pages: dict[int, bytearray] = {}
        self.dirty: set[int] = set()

    def page(self, n: int) -> bytearray:
        buf = self.pages.get(n)
        if buf is None:
            buf = bytearray(random.Random(self.salt ^ (n * 0x9E3779B97F4A7C15)).randbytes(PAGE))
            self.pages[n] = buf
        return buf

    def write(self, addr: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            a = (addr + pos) & ADDR_MASK
            n, off = divmod(a, PAGE)
            take = min(len(data) - pos, PAGE - off)
            self.page(n)[off:off + take] = data[pos:pos + take]
            self.dirty.add(n)
            pos += take

    def read(self, addr: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            a = (addr + len(out)) & ADDR_MASK
            n, off = divmod(a, PAGE)
            take = min(length - len(out), PAGE - off)
            out += self.page(n)[off:off + take]
        return bytes(out)


@dataclass
class Desc:
    tag: int
    func: int
    pcie_addr: int
    ram_addr: int
    length: int
    data: bytes                      # RAM bytes at submission: what must land in host memory
    seq: int = 0                     # submission number (for messages)
    sent: int = 0                    # bytes seen on RQ so far
    tlps: int = 0                    # TLPs seen on RQ so far
    accept_cycle: int | None = None
    status_cycle: int | None = None
    beat_cycles: list[int] = field(default_factory=list)
    writes: list[tuple[int, bytes]] = field(default_factory=list)  # (host addr, bytes) of its TLPs

    def __str__(self) -> str:
        return (f"desc #{self.seq} tag {self.tag:#x} func {self.func} pcie {self.pcie_addr:#x} "
                f"ram {self.ram_addr:#x} len {self.length}")


def expected_tlp_count(addr: int, length: int, mps: int) -> int:
    """TLPs for one descriptor when cut at every MPS-aligned host address."""
    if length == 0:
        return 0
    return (addr + length - 1) // mps - addr // mps + 1


def expected_beats(addr: int, length: int, mps: int) -> int:
    """512-bit beats for one descriptor: per TLP the 16-byte RQ descriptor plus
    the DWORD-aligned payload, rounded up to 64 bytes."""
    beats = 0
    while length:
        n = min(length, mps - addr % mps)
        dw = (addr % 4 + n + 3) // 4
        beats += (16 + 4 * dw + 63) // 64
        addr, length = addr + n, length - n
    return beats


# ----------------------------------------------------------------------------
# bench
# ----------------------------------------------------------------------------


class TB:
    """Clock, reset, RAM model, descriptor driver, RQ checker, status checker."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("random seed %d", cocotb.RANDOM_SEED)

        self.ram_addr_w = len(dut.s_axis_wr_desc_ram_addr)
        self.len_w = len(dut.s_axis_wr_desc_len)
        self.tag_w = len(dut.s_axis_wr_desc_tag)
        self.ram_size = 1 << self.ram_addr_w
        self.ram = bytearray(random.randbytes(self.ram_size))

        salt = random.getrandbits(64)
        self.host = HostMemory(salt)     # written by the DUT's TLPs
        self.expect = HostMemory(salt)   # written by the bench at each status

        Clock(dut.clk, 4, unit="ns").start()
        self.rq = RqSink(AxiStreamBus.from_prefix(dut, "m_axis_rq"), dut.clk, dut.rst)
        logging.getLogger(f"cocotb.{dut._name}.m_axis_rq").setLevel(logging.WARNING)

        self.mps = self.mps_cut = 256    # size limit / cut boundary the checks use
        dut.cfg_max_payload.value = 1
        dut.rst.value = 1
        dut.s_axis_wr_desc_valid.value = 0
        dut.s_axis_wr_desc_func.value = 0
        dut.s_axis_wr_desc_pcie_addr.value = 0
        dut.s_axis_wr_desc_ram_addr.value = 0
        dut.s_axis_wr_desc_len.value = 0
        dut.s_axis_wr_desc_tag.value = 0
        dut.ram_rd_data.value = 0

        self.cycle = 0
        self.pending: deque[Desc] = deque()      # submitted, not yet on the bus
        self.driving: Desc | None = None         # on the descriptor bus now
        self.outstanding: deque[Desc] = deque()  # accepted or driving, no status yet
        self.completed: list[Desc] = []
        self.next_tag = 0
        self.seq = 0
        self.tlp_count = 0
        self.beat_count = 0
        self.beat_cycles: list[int] = []
        self.in_frame = False
        self.errors: list[str] = []
        # host ranges below 4 GiB (3-DW MemWr on the link) and above (4-DW)
        self.host_alloc = [0x1000_0000 + random.randrange(1 << 16) * PAGE,
                           0x8_0000_0000 + random.randrange(1 << 20) * PAGE]

        cocotb.start_soon(self._run())

    # --- helpers ----------------------------------------------------------

    async def reset(self) -> None:
        self.dut.rst.value = 1
        for _ in range(4):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        for _ in range(2):
            await RisingEdge(self.dut.clk)

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    def set_mps(self, mps: int, transition: bool = False) -> None:
        """Set cfg_max_payload. With `transition`, TLPs already planned may
        still follow the old MPS: the size check uses the larger and the cut
        check the smaller of the two until the next plain set_mps()."""
        code = {128: 0, 256: 1, 512: 2, 1024: 3}[mps]
        self.dut.cfg_max_payload.value = code
        if transition:
            self.mps_cut, self.mps = min(self.mps, mps), max(self.mps, mps)
        else:
            self.mps = self.mps_cut = mps

    def alloc(self, length: int, offset: int | None = None) -> int:
        """A fresh host range starting at page offset `offset` (random if None)."""
        if offset is None:
            offset = random.randrange(PAGE)
        region = random.randrange(2)
        addr = self.host_alloc[region] + offset
        self.host_alloc[region] += (offset + length + 2 * PAGE - 1) // PAGE * PAGE
        return addr

    def ram_read(self, addr: int, length: int) -> bytes:
        addr %= self.ram_size
        out = bytearray()
        while len(out) < length:
            take = min(length - len(out), self.ram_size - addr)
            out += self.ram[addr:addr + take]
            addr = 0
        return bytes(out)

    def ram_write(self, addr: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.ram[(addr + i) % self.ram_size] = b

    def submit(self, pcie_addr: int, ram_addr: int, length: int, func: int | None = None,
               tag: int | None = None) -> Desc:
        """Queue one descriptor; its expected bytes are the RAM content now."""
        if func is None:
            func = random.randrange(256)
        if tag is None:
            tag = self.next_tag
            self.next_tag = (self.next_tag + 1) % (1 << self.tag_w)
        d = Desc(tag=tag, func=func, pcie_addr=pcie_addr & ADDR_MASK, ram_addr=ram_addr % self.ram_size,
                 length=length, data=self.ram_read(ram_addr, length), seq=self.seq)
        self.seq += 1
        self.pending.append(d)
        return d

    def submit_random(self, length: int, func: int | None = None) -> Desc:
        return self.submit(self.alloc(length), random.randrange(self.ram_size), length, func)

    def fail(self, msg: str) -> None:
        self.errors.append(msg)
        raise CheckError(msg)

    async def wait_idle(self, timeout: int = 20000, quiet: int = 20) -> None:
        """Wait until every submitted descriptor has its status; then check
        that nothing else comes out for `quiet` cycles."""
        start = self.cycle
        while self.pending or self.driving or self.outstanding:
            self._raise_errors()
            if self.cycle - start > timeout:
                left = ", ".join(str(d) for d in list(self.outstanding)[:4])
                raise CheckError(
                    f"wait_idle: no status within {timeout} cycles for {len(self.outstanding) + len(self.pending)} "
                    f"descriptor(s) ({left}...), RQ saw {self.tlp_count} TLPs, at {now()}")
            await RisingEdge(self.dut.clk)
        await self.cycles(quiet)
        self._raise_errors()
        if not self.rq.empty() or self.in_frame:
            raise CheckError(f"wait_idle: RQ traffic after the last status, at {now()}")

    def _raise_errors(self) -> None:
        if self.errors:
            raise CheckError(self.errors[0])

    # --- the per-cycle process -------------------------------------------

    async def _run(self) -> None:
        dut = self.dut
        edge = RisingEdge(dut.clk)
        while True:
            await edge
            self.cycle += 1
            # values read here are those the DUT sampled at this edge
            if int(dut.rst.value):
                continue

            # RAM: a read sampled at this edge returns its row during the next cycle
            if int(dut.ram_rd_en.value):
                row = int(dut.ram_rd_addr.value)
                dut.ram_rd_data.value = int.from_bytes(self.ram[row * 64:row * 64 + 64], "little")
            else:
                dut.ram_rd_data.value = random.getrandbits(512)

            # descriptor handshake
            if self.driving is not None and int(dut.s_axis_wr_desc_ready.value):
                self.driving.accept_cycle = self.cycle
                self.driving = None
            if self.driving is None:
                if self.pending:
                    d = self.pending.popleft()
                    dut.s_axis_wr_desc_valid.value = 1
                    dut.s_axis_wr_desc_func.value = d.func
                    dut.s_axis_wr_desc_pcie_addr.value = d.pcie_addr
                    dut.s_axis_wr_desc_ram_addr.value = d.ram_addr
                    dut.s_axis_wr_desc_len.value = d.length
                    dut.s_axis_wr_desc_tag.value = d.tag
                    self.driving = d
                    self.outstanding.append(d)
                else:
                    dut.s_axis_wr_desc_valid.value = 0

            # TLPs completed by the sink (at this edge or before): parsed first,
            # so the beat below is attributed to the right descriptor
            while not self.rq.empty():
                self.check_tlp(self.rq.recv_nowait())

            # RQ beat accepted at this edge: framing signals
            if int(dut.m_axis_rq_tvalid.value) and int(dut.m_axis_rq_tready.value):
                self.check_beat()

            # status
            if int(dut.m_axis_wr_desc_status_valid.value):
                self.check_status(int(dut.m_axis_wr_desc_status_tag.value),
                                  int(dut.m_axis_wr_desc_status_error.value))

    # --- checkers ---------------------------------------------------------

    def check_beat(self) -> None:
        dut = self.dut
        keep = int(dut.m_axis_rq_tkeep.value)
        last = int(dut.m_axis_rq_tlast.value)
        user = int(dut.m_axis_rq_tuser.value)
        sop = not self.in_frame
        d = self._current_desc()
        where = f"beat {self.beat_count} ({d if d else 'no descriptor'})"
        self.beat_count += 1
        self.beat_cycles.append(self.cycle)
        if d is not None:
            d.beat_cycles.append(self.cycle)
        if keep == 0 or keep & (keep + 1):
            self.fail(f"check_beat: {where}: tkeep {keep:#06x} is not a run of DWORDs from lane 0, at {now()}")
        if not last and keep != 0xFFFF:
            self.fail(f"check_beat: {where}: tkeep expected 0xffff on a non-last beat, got {keep:#06x}, at {now()}")
        if bool(user >> 20 & 1) != sop:
            self.fail(f"check_beat: {where}: is_sop[0] expected {int(sop)}, got {user >> 20 & 1}, at {now()}")
        if bool(user >> 26 & 1) != bool(last):
            self.fail(f"check_beat: {where}: is_eop[0] expected {last}, got {user >> 26 & 1}, at {now()}")
        if last and (user >> 28 & 0xF) != keep.bit_length() - 1:
            self.fail(f"check_beat: {where}: is_eop0_ptr expected {keep.bit_length() - 1}, "
                      f"got {user >> 28 & 0xF}, at {now()}")
        if user >> 36 & 1:
            self.fail(f"check_beat: {where}: discontinue set, at {now()}")
        self.in_frame = not last

    def _current_desc(self) -> Desc | None:
        for d in self.outstanding:
            if d.sent < d.length:
                return d
        return None

    def check_tlp(self, frame) -> None:
        n = self.tlp_count
        self.tlp_count += 1
        d = self._current_desc()
        if d is None:
            self.fail(f"check_tlp: TLP {n} arrived with no descriptor expecting data: {frame!r}, at {now()}")
        try:
            tlp = Tlp_us.unpack_us_rq(frame)
        except Exception as exc:  # malformed descriptor fields
            self.fail(f"check_tlp: {d}: TLP {n} does not parse ({exc!r}), at {now()}")
        where = f"{d}: TLP {n} addr {tlp.address:#x}"

        def expect(what: str, exp, act) -> None:
            if exp != act:
                fmt = (lambda v: f"{v:#x}") if isinstance(exp, int) and not isinstance(exp, bool) else str
                self.fail(f"check_tlp: {where}: {what} expected {fmt(exp)}, got {fmt(act)}, at {now()}")

        expect("type", True, tlp.fmt_type in (TlpType.MEM_WRITE, TlpType.MEM_WRITE_64))
        expect("discontinue", False, bool(frame.discontinue))
        expect("poisoned", False, bool(tlp.ep))
        expect("tc", 0, int(tlp.tc))
        expect("attr", 0, int(tlp.attr))
        expect("requester_id_enable", False, tlp.requester_id_enable)
        expect("requester function", d.func, int(tlp.requester_id) & 0xFF)
        dw = tlp.length
        expect("payload DWORDs on the bus (tkeep) vs length field", dw, len(frame.data) - 4)
        if dw == 0:
            self.fail(f"check_tlp: {where}: zero length field, at {now()}")
        if dw * 4 > self.mps:
            self.fail(f"check_tlp: {where}: {dw * 4} payload bytes exceed MPS {self.mps}, at {now()}")
        if (tlp.address & 0xFFF) + dw * 4 > PAGE:
            self.fail(f"check_tlp: {where}: {dw} DWORDs cross a 4 KiB boundary, at {now()}")
        if dw == 1:
            if tlp.last_be != 0:
                self.fail(f"check_tlp: {where}: 1-DW TLP with last_be {tlp.last_be:#x} (expected 0), at {now()}")
            if tlp.first_be not in FIRST_BE_OK:
                self.fail(f"check_tlp: {where}: first_be {tlp.first_be:#x} not contiguous, at {now()}")
        else:
            if tlp.first_be not in FIRST_BE_MULTI:
                self.fail(f"check_tlp: {where}: first_be {tlp.first_be:#x} must be F/E/C/8, at {now()}")
            if tlp.last_be not in LAST_BE_MULTI:
                self.fail(f"check_tlp: {where}: last_be {tlp.last_be:#x} must be F/7/3/1, at {now()}")

        lead = tlp.get_first_be_offset()
        count = tlp.get_be_byte_count()
        start = (tlp.address + lead) & ADDR_MASK
        exp_start = (d.pcie_addr + d.sent) & ADDR_MASK
        expect("first byte address (TLPs must follow each other in descriptor order)", exp_start, start)
        if d.sent + count > d.length:
            self.fail(f"check_tlp: {where}: {count} bytes overrun the descriptor "
                      f"({d.length - d.sent} left), at {now()}")
        end = d.sent + count
        if end != d.length and (start + count) % self.mps_cut:
            self.fail(f"check_tlp: {where}: TLP ends at {start + count:#x}, neither the descriptor end nor "
                      f"an MPS ({self.mps_cut}) boundary, at {now()}")
        payload = bytes(tlp.data[lead:lead + count])
        want = d.data[d.sent:end]
        if payload != want:
            i = next(k for k in range(count) if payload[k] != want[k])
            self.fail(f"check_tlp: {where}: payload byte at descriptor offset {d.sent + i} "
                      f"(host {start + i:#x}, RAM {(d.ram_addr + d.sent + i) % self.ram_size:#x}) "
                      f"expected {want[i]:#04x}, got {payload[i]:#04x}, at {now()}")
        d.writes.append((start, payload))
        d.sent = end
        d.tlps += 1

    def check_status(self, tag: int, error: int) -> None:
        if not self.outstanding:
            self.fail(f"check_status: status tag {tag:#x} with no descriptor outstanding, at {now()}")
        d = self.outstanding[0]
        if self.driving is d:
            self.fail(f"check_status: {d}: status tag {tag:#x} before the descriptor was accepted, at {now()}")
        if tag != d.tag:
            self.fail(f"check_status: status out of order: expected tag {d.tag:#x} ({d}), got {tag:#x}, at {now()}")
        if error != DMA_OK:
            self.fail(f"check_status: {d}: error expected {DMA_OK} (DMA_OK), got {error}, at {now()}")
        if d.sent != d.length:
            self.fail(f"check_status: {d}: status before all data was sent: {d.sent} of {d.length} bytes "
                      f"seen on RQ, at {now()}")
        self.outstanding.popleft()
        d.status_cycle = self.cycle
        # the host image at this status: every TLP up to this descriptor's
        # last one (later descriptors' TLPs may already be on the wire)
        for addr, payload in d.writes:
            self.host.write(addr, payload)
        self.expect.write(d.pcie_addr, d.data)
        self.check_memory(d)
        self.completed.append(d)

    def check_memory(self, d: Desc) -> None:
        """Host memory must equal the expected image (all pages either touched)."""
        for n in sorted(self.host.dirty | self.expect.dirty):
            act, exp = self.host.page(n), self.expect.page(n)
            if act != exp:
                i = next(k for k in range(PAGE) if act[k] != exp[k])
                a = n * PAGE + i
                inside = (a - d.pcie_addr) & ADDR_MASK < d.length
                self.fail(f"check_memory: after status of {d}: host byte {a:#x} "
                          f"({'inside' if inside else 'outside'} its range) expected {exp[i]:#04x}, "
                          f"got {act[i]:#04x}, at {now()}")
        self.host.dirty.clear()
        self.expect.dirty.clear()


async def make_tb(dut, mps: int = 256) -> TB:
    tb = TB(dut)
    tb.set_mps(mps)
    await tb.reset()
    return tb


def random_pause(p_ready: float):
    """Endless tready pattern: ready with probability p_ready, with some long stalls."""
    while True:
        if random.random() < 0.02:
            yield from itertools.repeat(True, random.randrange(10, 60))
        else:
            yield random.random() >= p_ready


# ----------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------

EDGE_LENGTHS = [1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 127, 128, 129, 255, 256, 257,
                4095, 4096, 4097, 8192]


@cocotb.test()
async def test_single_write(dut):
    """One 256-byte write, host and RAM 64-byte aligned: one TLP, data exact."""
    tb = await make_tb(dut, mps=256)
    d = tb.submit(tb.alloc(256, offset=0x100), 0x1000, 256, func=3)
    await tb.wait_idle()
    assert d.tlps == 1, f"test_single_write: {d}: expected 1 TLP, got {d.tlps}, at {now()}"


@cocotb.test()
async def test_length_sweep(dut):
    """Edge lengths (1..5, 63..65, 4095..4097, 8192, ...), every length 1..80
    and random lengths up to 8 KiB, each at random RAM and host alignments; a
    third of them placed to cross a 4 KiB boundary."""
    tb = await make_tb(dut, mps=256)
    lengths = EDGE_LENGTHS + list(range(1, 81)) + [random.randrange(1, 8193) for _ in range(12)]
    for length in lengths:
        if random.random() < 0.33:
            # start within `length` bytes below a 4 KiB boundary so the range crosses it
            offset = PAGE - random.randrange(1, min(length, PAGE) + 1) if length > 1 else PAGE - 1
        else:
            offset = None
        tb.submit(tb.alloc(length, offset), random.randrange(tb.ram_size), length)
    await tb.wait_idle(timeout=40000)
    crossed = sum(1 for d in tb.completed if d.pcie_addr // PAGE != (d.pcie_addr + d.length - 1) // PAGE)
    tb.log.info("length sweep: %d descriptors, %d cross 4 KiB, %d TLPs", len(tb.completed), crossed, tb.tlp_count)
    for d in tb.completed:
        exp = expected_tlp_count(d.pcie_addr, d.length, tb.mps)
        assert d.tlps == exp, f"test_length_sweep: {d}: expected {exp} TLPs, got {d.tlps}, at {now()}"


@cocotb.test()
async def test_mps(dut):
    """MPS 128/256/512/1024: no TLP above MPS, TLPs cut at MPS boundaries,
    TLP count as computed from the host range."""
    tb = await make_tb(dut)
    for mps in (128, 256, 512, 1024):
        tb.set_mps(mps)
        await tb.cycles(2)
        start = len(tb.completed)
        for length in (1, mps - 1, mps, mps + 1, 3 * mps + 5, 4096, random.randrange(1, 6000)):
            tb.submit_random(length)
        tb.submit(tb.alloc(2 * mps, offset=PAGE - mps), random.randrange(tb.ram_size), 2 * mps)
        await tb.wait_idle()
        for d in tb.completed[start:]:
            exp = expected_tlp_count(d.pcie_addr, d.length, mps)
            assert d.tlps == exp, f"test_mps: MPS {mps}: {d}: expected {exp} TLPs, got {d.tlps}, at {now()}"
        tb.log.info("MPS %d: %d descriptors ok", mps, len(tb.completed) - start)


@cocotb.test()
async def test_mps_change(dut):
    """cfg_max_payload changed while long writes are in flight (up and down):
    every TLP fits the old or the new MPS, stays in its 4 KiB page, and the
    data lands intact (MPS is sampled per TLP)."""
    tb = await make_tb(dut, mps=512)
    for new in (128, 1024, 256):
        for _ in range(3):
            tb.submit_random(random.randrange(2000, 4000))
        await tb.cycles(random.randrange(5, 40))
        tb.set_mps(new, transition=True)
        await tb.wait_idle()
        tb.set_mps(new)


@cocotb.test()
async def test_back_to_back(dut):
    """300 descriptors of 1..600 bytes submitted without gaps, random functions:
    every one arrives intact, statuses in order."""
    tb = await make_tb(dut, mps=256)
    for _ in range(300):
        tb.submit_random(random.choice([random.randrange(1, 65), random.randrange(1, 601)]))
    start = tb.cycle
    await tb.wait_idle(timeout=40000)
    tb.log.info("back-to-back: 300 descriptors, %d TLPs, %d beats in %d cycles",
                tb.tlp_count, tb.beat_count, tb.cycle - start)


@cocotb.test()
async def test_rq_backpressure(dut):
    """RQ tready toggling at random (40 % ready, with long stalls) over mixed
    lengths: nothing lost, duplicated or reordered; statuses wait for the data."""
    tb = await make_tb(dut, mps=256)
    tb.rq.set_pause_generator(random_pause(0.4))
    for _ in range(40):
        tb.submit_random(random.choice([random.randrange(1, 100), random.randrange(1, 3000)]))
    await tb.wait_idle(timeout=60000)
    tb.rq.clear_pause_generator()


@cocotb.test()
async def test_zero_length(dut):
    """len == 0: DMA_OK and no TLP, alone, back to back, and between writes."""
    tb = await make_tb(dut, mps=256)
    d = tb.submit(tb.alloc(0), 0x40, 0)
    await tb.wait_idle(timeout=50)
    assert tb.tlp_count == 0, f"test_zero_length: {d}: expected no TLP, got {tb.tlp_count}, at {now()}"
    lat = d.status_cycle - d.accept_cycle
    assert lat <= 4, f"test_zero_length: {d}: status {lat} cycles after acceptance, expected <= 4, at {now()}"
    for _ in range(5):
        tb.submit(tb.alloc(0), random.randrange(tb.ram_size), 0)
    for _ in range(20):
        tb.submit_random(random.choice([0, 0, random.randrange(1, 300)]))
    await tb.wait_idle()


@cocotb.test()
async def test_status_order(dut):
    """A long write followed by a zero-length and short ones: each status waits
    for the one before it, and comes only after its own last beat."""
    tb = await make_tb(dut, mps=256)
    tb.rq.set_pause_generator(random_pause(0.7))
    seq = [8192, 0, 4, 0, 0, 1000, 1, 0, 5000, 17]
    ds = [tb.submit_random(n) for n in seq]
    await tb.wait_idle(timeout=40000)
    order = [d.tag for d in tb.completed]
    assert order == [d.tag for d in ds], f"test_status_order: status tags {order}, expected {[d.tag for d in ds]}, at {now()}"
    for d in ds:
        if d.length and d.beat_cycles:
            assert d.status_cycle > d.beat_cycles[-1], (
                f"test_status_order: {d}: status at cycle {d.status_cycle}, expected after its last beat "
                f"(cycle {d.beat_cycles[-1]}), at {now()}")
    tb.rq.clear_pause_generator()


@cocotb.test()
async def test_buffer_reuse(dut):
    """The same RAM rows rewritten between two descriptors: the second write
    carries the new bytes (no row kept from the previous descriptor)."""
    tb = await make_tb(dut, mps=256)
    for length in (16, 40, 100, 300):
        ram = random.randrange(tb.ram_size)
        tb.submit(tb.alloc(length), ram, length)
        await tb.wait_idle()
        tb.ram_write(ram - 64, random.randbytes(length + 128))
        tb.submit(tb.alloc(length), ram, length)
        tb.submit(tb.alloc(length), ram + 3, length)
        await tb.wait_idle()


@cocotb.test()
async def test_wrap(dut):
    """Bad input with a defined outcome: a RAM range running past the end of
    the RAM wraps to RAM address 0; a host range running past 2^64 wraps to
    host address 0 (every TLP still inside one 4 KiB page)."""
    tb = await make_tb(dut, mps=512)
    for length in (1, 100, 700, 3000):
        tb.submit(tb.alloc(length), tb.ram_size - random.randrange(1, length + 1), length)
    tb.submit((1 << 64) - 1000, random.randrange(tb.ram_size), 3000)
    tb.submit((1 << 64) - 2, random.randrange(tb.ram_size), 6)
    await tb.wait_idle()


@cocotb.test()
async def test_max_length(dut):
    """The largest descriptor (2^LEN_W - 1 bytes) at a random alignment, MPS 1024."""
    tb = await make_tb(dut, mps=1024)
    length = (1 << tb.len_w) - 1
    d = tb.submit_random(length)
    await tb.wait_idle(timeout=20 * length // 64 + 1000)
    exp = expected_tlp_count(d.pcie_addr, length, 1024)
    assert d.tlps == exp, f"test_max_length: {d}: expected {exp} TLPs, got {d.tlps}, at {now()}"


@cocotb.test()
async def test_throughput(dut):
    """8 KiB at MPS 256 without backpressure: one beat per cycle from the first
    beat to the last (host/RAM aligned and misaligned; OUT_FIFO_DEPTH >= 8);
    logs the efficiency."""
    tb = await make_tb(dut, mps=256)
    full_rate = int(dut.OUT_FIFO_DEPTH.value) >= 8   # a 4-deep FIFO cannot cover the 3-stage pipeline
    cases = [("aligned", 0x000, 0x0000), ("ram+5", 0x000, 0x0005), ("host+3", 0x003, 0x0000),
             ("both odd", 0x7F1, 0x1234 + 37)]
    for name, host_off, ram in cases:
        b0 = len(tb.beat_cycles)
        d = tb.submit(tb.alloc(8192, offset=host_off), ram, 8192)
        await tb.wait_idle()
        beats = tb.beat_cycles[b0:]
        span = beats[-1] - beats[0] + 1
        total = d.status_cycle - d.accept_cycle
        tb.log.info("8 KiB %-8s MPS 256: %d TLPs, %d beats; first->last beat %d cycles; "
                    "accept->status %d cycles; payload %.1f B/cycle (%.0f%% of 64)",
                    name, d.tlps, len(beats), span, total, 8192 / total, 100 * 8192 / 64 / total)
        exp_tlps = expected_tlp_count(d.pcie_addr, 8192, 256)
        exp_beats = expected_beats(d.pcie_addr, 8192, 256)
        assert d.tlps == exp_tlps, \
            f"test_throughput: {name}: {d}: expected {exp_tlps} TLPs, got {d.tlps}, at {now()}"
        assert len(beats) == exp_beats, \
            f"test_throughput: {name}: {d}: expected {exp_beats} beats, got {len(beats)}, at {now()}"
        assert span == len(beats) or not full_rate, \
            f"test_throughput: {name}: {d}: expected {len(beats)} cycles first->last beat, got {span} " \
            f"(bubbles in the stream), at {now()}"
