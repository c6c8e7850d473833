# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_dma_gate: bus-master-enable admission of DMA descriptors.

A cocotbext-axi stream source feeds descriptors (``s_axis_desc_*``, with
random bubbles); an engine model takes them on ``m_axis_desc_*`` (random
ready) and answers each with a status on ``s_axis_status_*`` after a random
delay, with a random error code. The bench drives ``func_bme``.

The reference decides at every accepted descriptor, from the func_bme the
bench is driving at that edge: admitted (function < NUM_FUNC and its BME bit
set) or rejected — except that a descriptor already being offered to the
engine stays admitted (AXI-stream forbids dropping valid without a
handshake; a monitor fails the test if the gate ever does). Tags are unique among descriptors in flight, so every
status names its descriptor. One monitor checks on every edge:

* an admitted descriptor reaches the engine unchanged, exactly once, in
  order; a rejected one is never even offered to the engine;
* every rejected descriptor gets exactly one status (its tag, DMA_ERR_BME)
  and every engine status leaves exactly once, unchanged; nothing else
  appears on ``m_axis_status_*``;
* an engine status leaves ENGINE_LATENCY edges after the engine drove it (the
  status port has no backpressure and the gate holds no queue for it); a
  rejection status leaves within REJECT_LATENCY edges of acceptance plus one
  edge per engine status that went out first.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi.stream import define_stream
from tb.util import now, as_int as _int, random_pause

DescBus, DescTransaction, DescSource, DescSink, DescMonitor = define_stream(
    "Desc", signals=["func", "pcie_addr", "ram_addr", "len", "tag", "valid", "ready"]
)

DMA_ERR_BME = 6       # hdl/vio_pkg.sv
ENGINE_LATENCY = 2    # engine drives after edge k, the gate registers at k+1, the monitor sees it at k+2
REJECT_LATENCY = 2    # accepted at edge a: pending at a+1, on the status port at a+2




@dataclass
class Desc:
    func: int
    pcie_addr: int
    ram_addr: int
    len: int
    tag: int
    admitted: bool | None = None
    accepted_at: int = -1
    eng_seen_at_accept: int = 0

    def fields(self) -> tuple[int, int, int, int, int]:
        return (self.func, self.pcie_addr, self.ram_addr, self.len, self.tag)

    def __str__(self) -> str:
        return (f"desc tag {self.tag} func {self.func} pcie {self.pcie_addr:#x} "
                f"ram {self.ram_addr:#x} len {self.len}")


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.num_func = int(dut.NUM_FUNC.value)
        self.ram_w = int(dut.RAM_ADDR_W.value)
        self.len_w = int(dut.LEN_W.value)
        self.tag_w = int(dut.OP_TAG_W.value)
        self.log.info("seed %s (test PRNG seed %d): NUM_FUNC=%d RAM_ADDR_W=%d LEN_W=%d OP_TAG_W=%d",
                      os.environ.get("COCOTB_RANDOM_SEED"), cocotb.RANDOM_SEED,
                      self.num_func, self.ram_w, self.len_w, self.tag_w)

        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
        logging.getLogger(f"cocotb.{dut._name}.s_axis_desc").setLevel(logging.WARNING)
        self.src = DescSource(DescBus.from_prefix(dut, "s_axis_desc"), dut.clk, dut.rst)

        self.errors: list[str] = []
        self.bme = 0
        self.engine_ready = 1.0
        self.engine_delay = (1, 12)
        self.engine_auto = True
        self.engine_errors = [0, 0, 0, 1, 2, 3, 4, 5, 7]
        self.on_accept = None   # test hook, called in the edge a descriptor is accepted
        self.stats = {"admitted": 0, "rejected": 0, "engine_status": 0, "bme_status": 0,
                      "collisions": 0, "retracted": 0}
        self._clear_tracking()

        dut.rst.value = 1
        for name in ("func_bme", "m_axis_desc_ready", "s_axis_status_valid",
                     "s_axis_status_tag", "s_axis_status_error"):
            getattr(dut, name).value = 0

        cocotb.start_soon(self._monitor())

    def _clear_tracking(self):
        self.cycle = 0
        self.free_tags = set(range(1 << self.tag_w))
        self.sent: dict[int, Desc] = {}               # tag -> descriptor, until its status
        self.answered: dict[int, Desc] = {}           # tag -> the last descriptor whose status came
        self.to_engine: deque[Desc] = deque()         # admitted, not yet taken by the engine
        self.held: list[Desc] = []                    # taken by the engine, status not yet scheduled
        self.eng_sched: list[tuple[int, int, int, int]] = []   # (due, order, tag, error)
        self.eng_out: deque[tuple[int, int, int]] = deque()  # engine statuses driven: (cycle, tag, error)
        self.rejects: deque[Desc] = deque()
        self.eng_seen = 0
        self.order = 0
        self.prev_m_valid = False

    # ------------------------------------------------------------ reset / sync
    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.src.clear()
        self._clear_tracking()
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def fail(self, text: str):
        self.errors.append(f"{text} ({now()})")
        self.log.error("%s (%s)", text, now())

    def check(self):
        assert not self.errors, "\n".join(self.errors[:10])

    async def wait_until(self, cond, what: str, timeout_cycles: int = 5000):
        for _ in range(timeout_cycles):
            if cond():
                return
            await RisingEdge(self.dut.clk)
        self.check()
        raise AssertionError(f"vio_dma_gate: {what} after {timeout_cycles} cycles ({now()})")

    async def quiesce(self, idle_cycles: int = 20):
        """Every descriptor sent has had its status, then idle cycles."""
        def pending():
            return [str(d) for d in self.sent.values()]
        try:
            await self.wait_until(lambda: self.errors or (not self.sent and self.src.empty() and not self.src.active),
                                  "descriptors without a status")
        except AssertionError as exc:
            self.check()
            raise AssertionError(f"{exc}: no status for {len(self.sent)} descriptor(s), "
                                 f"first {'; '.join(pending()[:4])}") from None
        await ClockCycles(self.dut.clk, idle_cycles)
        self.check()

    # ------------------------------------------------------------ stimulus
    def set_bme(self, mask: int):
        self.bme = mask & ((1 << self.num_func) - 1)
        self.dut.func_bme.value = self.bme

    def admitted(self, func: int, bme: int) -> bool:
        return func < self.num_func and bool((bme >> func) & 1)

    def send(self, func: int | None = None) -> Desc:
        """Queue one descriptor with a fresh tag (random function when None)."""
        if not self.free_tags:
            raise AssertionError("bench: no free tag (call with fewer descriptors in flight)")
        tag = random.choice(sorted(self.free_tags))
        self.free_tags.discard(tag)
        if func is None:
            func = random.choice(list(range(self.num_func)) * 4 + [self.num_func, 255, random.randrange(256)])
        d = Desc(func, random.getrandbits(64), random.getrandbits(self.ram_w),
                 random.getrandbits(self.len_w), tag)
        self.sent[tag] = d
        self.src.send_nowait(DescTransaction(func=d.func, pcie_addr=d.pcie_addr, ram_addr=d.ram_addr,
                                             len=d.len, tag=d.tag))
        return d

    def engine_status(self, tag: int, error: int, at: int):
        """Schedule an engine status for a descriptor the engine holds (at = cycle to drive it)."""
        self.eng_sched.append((at, self.order, tag, error))
        self.order += 1
        self.eng_sched.sort()

    # ------------------------------------------------------------ monitor + engine model
    async def _monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if _int(dut.rst.value):
                dut.s_axis_status_valid.value = 0
                dut.m_axis_desc_ready.value = 0
                continue
            self.cycle += 1
            self._coverage()
            self._input()
            self._engine_side()
            self._status_out()
            self._reject_watchdog()
            self._drive_engine()

    def _coverage(self):
        """Count edges where an engine status meets a pending rejection (internal rej_valid)."""
        try:
            if _int(self.dut.s_axis_status_valid.value) and _int(self.dut.rej_valid.value):
                self.stats["collisions"] += 1
        except AttributeError:
            self.stats.pop("collisions", None)

    def _input(self):
        dut = self.dut
        if not (_int(dut.s_axis_desc_valid.value) and _int(dut.s_axis_desc_ready.value)):
            return
        tag = _int(dut.s_axis_desc_tag.value)
        d = self.sent.get(tag)
        if d is None or d.admitted is not None:
            self.fail(f"s_axis_desc handshake for tag {tag} the bench did not offer (bench bug)")
            return
        bme = _int(dut.func_bme.value)
        # a descriptor already offered to the engine last edge stays admitted
        # (AXI-stream: valid never drops without a handshake)
        d.admitted = self.admitted(d.func, bme) or self.prev_m_valid
        d.accepted_at = self.cycle
        d.eng_seen_at_accept = self.eng_seen
        if d.admitted:
            self.stats["admitted"] += 1
            self.to_engine.append(d)
        else:
            self.stats["rejected"] += 1
            self.rejects.append(d)
        if self.on_accept is not None:
            self.on_accept(d)

    def _engine_side(self):
        dut = self.dut
        m_valid = _int(dut.m_axis_desc_valid.value)
        if m_valid:
            # only the descriptor being offered, only when its function may master the bus
            s_valid = _int(dut.s_axis_desc_valid.value)
            got = (_int(dut.m_axis_desc_func.value), _int(dut.m_axis_desc_pcie_addr.value),
                   _int(dut.m_axis_desc_ram_addr.value), _int(dut.m_axis_desc_len.value),
                   _int(dut.m_axis_desc_tag.value))
            offered = (_int(dut.s_axis_desc_func.value), _int(dut.s_axis_desc_pcie_addr.value),
                       _int(dut.s_axis_desc_ram_addr.value), _int(dut.s_axis_desc_len.value),
                       _int(dut.s_axis_desc_tag.value))
            bme = _int(dut.func_bme.value)
            if not s_valid or got != offered:
                self.fail(f"engine side offers func/pcie/ram/len/tag {got} while the input offers "
                          f"{offered if s_valid else 'nothing'}")
            elif not self.admitted(got[0], bme) and not self.prev_m_valid:
                self.fail(f"engine side offers tag {got[4]} of func {got[0]} with func_bme {bme:#b}")
        elif self.prev_m_valid:
            self.stats["retracted"] += 1
            self.fail("m_axis_desc_valid dropped without a handshake (AXI-stream rule)")
        self.prev_m_valid = bool(m_valid) and not _int(dut.m_axis_desc_ready.value)
        if not (m_valid and _int(dut.m_axis_desc_ready.value)):
            return
        tag = _int(dut.m_axis_desc_tag.value)
        if not self.to_engine:
            self.fail(f"engine received tag {tag} but no admitted descriptor is pending")
            return
        exp = self.to_engine.popleft()
        got = (_int(dut.m_axis_desc_func.value), _int(dut.m_axis_desc_pcie_addr.value),
               _int(dut.m_axis_desc_ram_addr.value), _int(dut.m_axis_desc_len.value), tag)
        if got != exp.fields():
            self.fail(f"engine received func/pcie/ram/len/tag {got}, expected {exp}")
        if self.engine_auto:
            err = random.choice(self.engine_errors)
            self.engine_status(exp.tag, err, self.cycle + random.randint(*self.engine_delay) - 1)
        else:
            self.held.append(exp)

    def _status_out(self):
        dut = self.dut
        if not _int(dut.m_axis_status_valid.value):
            return
        tag = _int(dut.m_axis_status_tag.value)
        err = _int(dut.m_axis_status_error.value)
        d = self.sent.get(tag)
        if self.eng_out and self.eng_out[0][1] == tag:
            drove, _, exp_err = self.eng_out.popleft()
            self.eng_seen += 1
            self.stats["engine_status"] += 1
            if err != exp_err:
                self.fail(f"engine status tag {tag}: error {err} out, engine gave {exp_err}")
            if self.cycle - drove > ENGINE_LATENCY:
                self.fail(f"engine status tag {tag} left {self.cycle - drove} edges after the engine drove it "
                          f"(expected {ENGINE_LATENCY})")
        elif self.rejects and self.rejects[0].tag == tag:
            r = self.rejects.popleft()
            self.stats["bme_status"] += 1
            if err != DMA_ERR_BME:
                self.fail(f"rejected {r} (function BME off): status error {err}, expected {DMA_ERR_BME}")
            bound = REJECT_LATENCY + (self.eng_seen - r.eng_seen_at_accept)
            if self.cycle - r.accepted_at > bound:
                self.fail(f"rejected {r}: status {self.cycle - r.accepted_at} edges after acceptance, "
                          f"bound {bound}")
        else:
            if d is None:
                what = (f"duplicate: {self.answered[tag]} already had its status" if tag in self.answered
                        else "tag never sent")
            else:
                what = "not yet accepted" if d.admitted is None else f"out of order for {d}"
            heads = (f"next engine status tag {self.eng_out[0][1] if self.eng_out else '-'}, "
                     f"next rejection tag {self.rejects[0].tag if self.rejects else '-'}")
            self.fail(f"status tag {tag} error {err}: unexpected ({what}); {heads}")
            return
        self.answered[tag] = self.sent.pop(tag)
        self.free_tags.add(tag)

    def _reject_watchdog(self):
        """A rejection status overdue (beyond the latency bound) is reported at once."""
        if not self.rejects:
            return
        r = self.rejects[0]
        bound = REJECT_LATENCY + (self.eng_seen - r.eng_seen_at_accept)
        if self.cycle - r.accepted_at > bound and not getattr(r, "overdue", False):
            r.overdue = True
            self.fail(f"rejected {r}: no DMA_ERR_BME status {self.cycle - r.accepted_at} edges after "
                      f"acceptance (bound {bound})")

    def _drive_engine(self):
        dut = self.dut
        dut.m_axis_desc_ready.value = int(random.random() < self.engine_ready)
        if self.eng_sched and self.eng_sched[0][0] <= self.cycle:
            _, _, tag, err = self.eng_sched.pop(0)
            dut.s_axis_status_valid.value = 1
            dut.s_axis_status_tag.value = tag
            dut.s_axis_status_error.value = err
            self.eng_out.append((self.cycle, tag, err))
        else:
            dut.s_axis_status_valid.value = 0
            dut.s_axis_status_tag.value = random.getrandbits(self.tag_w)   # garbage while not valid
            dut.s_axis_status_error.value = random.getrandbits(4)


async def start(dut, bme: int | None = None) -> TB:
    tb = TB(dut)
    tb.set_bme((1 << tb.num_func) - 1 if bme is None else bme)
    await tb.reset()
    return tb



# --------------------------------------------------------------------------- tests


@cocotb.test()
async def test_bme_on_passes_unchanged(dut):
    """Every function may master: all descriptors reach the engine intact; engine statuses pass through."""
    tb = await start(dut)
    for ready, bubbles in ((1.0, 0.0), (0.4, 0.0), (0.7, 0.5)):
        tb.engine_ready = ready
        tb.src.set_pause_generator(random_pause(bubbles) if bubbles else None)
        for _ in range(60):
            tb.send(random.randrange(tb.num_func))
        await tb.quiesce()
    assert tb.stats["rejected"] == 0 and tb.stats["admitted"] == 180, f"stats {tb.stats} ({now()})"


@cocotb.test()
async def test_bme_off_rejected(dut):
    """BME off or no such function: never on the engine side, exactly one DMA_ERR_BME status each."""
    tb = await start(dut, bme=0b101)
    tb.engine_ready = 0.5
    funcs = [0, 1, 2, 1, tb.num_func, 255, 1, 128]
    for _ in range(12):
        for f in funcs:
            tb.send(f)
    await tb.quiesce()
    exp_rej = 12 * sum(1 for f in funcs if not tb.admitted(f, 0b101))
    assert tb.stats["bme_status"] == exp_rej == tb.stats["rejected"], \
        f"{tb.stats['bme_status']} BME statuses for {exp_rej} rejected descriptors ({now()})"
    # with nothing enabled at all
    tb.set_bme(0)
    for _ in range(30):
        tb.send()
    await tb.quiesce()


@cocotb.test()
async def test_rejections_do_not_wait_for_engine(dut):
    """With the engine never ready, rejected descriptors are still answered at once."""
    tb = await start(dut, bme=0b001)
    tb.engine_ready = 0.0
    for _ in range(40):
        tb.send(random.choice([1, 2, tb.num_func, 255]))
    await tb.quiesce()
    assert tb.stats["admitted"] == 0 and tb.stats["bme_status"] == 40, f"stats {tb.stats} ({now()})"


@cocotb.test()
async def test_status_collision(dut):
    """Rejection statuses and engine statuses meeting in every alignment: all come out, once each."""
    tb = await start(dut, bme=0b011)
    tb.engine_auto = False
    tb.engine_ready = 1.0

    async def hold(n: int) -> list[Desc]:
        descs = [tb.send(random.randrange(2)) for _ in range(n)]
        await tb.wait_until(lambda: len(tb.held) == n, "engine did not take the descriptors")
        tb.held.clear()
        return descs

    # engine statuses timed from the edge the rejected descriptor is accepted
    for offset in range(0, 4):
        for burst in (1, 3, 8):
            held = await hold(burst)

            def answer(d: Desc, held=held, offset=offset):
                if not d.admitted:
                    for i, h in enumerate(held):
                        tb.engine_status(h.tag, random.choice(tb.engine_errors), d.accepted_at + offset + i)
            tb.on_accept = answer
            tb.send(2)
            await tb.quiesce()
            tb.on_accept = None

    # a rejected descriptor arriving before, during and after a burst of engine statuses
    for delay in range(0, 12):
        held = await hold(6)
        for i, h in enumerate(held):
            tb.engine_status(h.tag, random.choice(tb.engine_errors), tb.cycle + 4 + i)
        await ClockCycles(dut.clk, delay)
        tb.send(random.choice([2, 255]))
        await tb.quiesce()

    tb.log.info("stats %s", tb.stats)
    if "collisions" in tb.stats:
        assert tb.stats["collisions"] > 0, f"coverage: no engine status ever met a pending rejection ({now()})"


@cocotb.test()
async def test_random_mixed(dut):
    """Random functions, BME toggling, engine ready/latency/errors, input bubbles."""
    tb = await start(dut)
    tb.src.set_pause_generator(random_pause(0.3))
    for _ in range(20):
        tb.engine_ready = random.choice([1.0, 0.7, 0.3])
        tb.engine_delay = random.choice([(1, 1), (1, 4), (1, 20)])
        for _ in range(50):
            if len(tb.sent) > 100:
                await tb.wait_until(lambda: len(tb.sent) <= 100, "statuses not coming back")
            tb.send()
            if random.random() < 0.1:
                tb.set_bme(random.getrandbits(tb.num_func))
            if random.random() < 0.3:
                await ClockCycles(dut.clk, random.randint(1, 4))
        await tb.quiesce()
    tb.log.info("stats %s", tb.stats)
    assert tb.stats["admitted"] and tb.stats["rejected"], f"coverage: stats {tb.stats}"


@cocotb.test()
async def test_bme_cleared_while_waiting(dut):
    """BME cleared while a descriptor is already offered to a stalled engine: the offer stands
    (valid never drops without a handshake), the engine takes it, and its status comes back."""
    tb = await start(dut)
    tb.engine_ready = 0.0
    for _ in range(5):
        tb.set_bme(0b111)
        d = tb.send(1)
        await ClockCycles(dut.clk, 6)
        assert d.admitted is None, f"{d} accepted by a stalled engine ({now()})"
        tb.set_bme(0b101)
        await ClockCycles(dut.clk, 4)
        tb.engine_ready = 1.0
        await tb.quiesce()
        tb.engine_ready = 0.0
        assert d.admitted is True, f"{d}: an offered descriptor was withdrawn after BME was cleared ({now()})"
    tb.engine_ready = 1.0
    for _ in range(10):
        tb.send()
    await tb.quiesce()
    assert tb.stats["retracted"] == 0, f"engine-side valid retracted {tb.stats['retracted']} times ({now()})"


@cocotb.test()
async def test_reset_with_statuses_pending(dut):
    """Reset with rejections and engine statuses in flight: nothing stale comes out afterwards."""
    tb = await start(dut, bme=0b001)
    tb.engine_delay = (5, 20)
    for _ in range(10):
        tb.send(random.choice([0, 0, 1, 255]))
    await ClockCycles(dut.clk, 12)
    tb.log.info("reset with %d descriptors in flight", len(tb.sent))
    await tb.reset()
    await ClockCycles(dut.clk, 30)
    tb.check()
    tb.set_bme(0b011)
    tb.engine_delay = (1, 6)
    for _ in range(40):
        tb.send()
    await tb.quiesce()
