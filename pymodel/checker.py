"""The golden model as a scoreboard: judge observed device behaviour.

The bench's monitors turn pins into transactions and feed them here; the
checker runs the same :class:`~pymodel.function.FunctionModel` core as the
:class:`~pymodel.device.Device`, but on a *private copy* of host memory:

* every write the host side makes (driver model, test data) must reach the
  checker through :meth:`Checker.host_write` -- wrap the bench's memory in
  :class:`~pymodel.memory.TeeMemory`;
* the device's DMA writes are recorded separately and compared with what
  the model wrote into its copy;
* blk functions need their own :class:`~pymodel.disk.Disk` copy of the
  image (the bench's disk model is the device's, this one is the model's).

Observed events and what is checked (DESIGN.md "Checking"):

=========================  =====================================================
event                      checks
=========================  =====================================================
on_register_read           value == model (common cfg, device cfg, MSI-X table);
                           ISR only bits that may be set; PBA only vectors with a
                           source; allowances: status during reset (§1.3),
                           queue_reset during ``reg_settle`` (§3.3),
                           DEVICE_NEEDS_RESET once a malformed buffer was taken
on_register_write          applied to the model (features, queues, status, ...)
on_flr / on_msix_control   function level reset; MSI-X enable / function mask
on_dma_fault               the host failed a DMA read: DEVICE_NEEDS_RESET and a
                           config-change notification become expected (§1.3)
on_dma_read / _write       requester function owns the bytes (rings of its
                           enabled queues, segments of buffers its driver made
                           available, indirect tables); no DMA before DRIVER_OK;
                           used descriptors at the predicted slot with the
                           predicted id/len/flags/wrap (§4.3, §10 #6), split
                           used entries and idx (§5); data written == model;
                           reads of the driver event area are evaluations (§4.4)
on_msix_message            MSI-X enabled, vector unmasked, vector has a source;
                           each queue source classified REQUIRED / SPURIOUS
check_deadlines            every REQUIRED notification arrives within the
                           coalescing bound + ``irq_slack`` (§6.6), counting from
                           the unmask when the vector was masked (§9.3)
on_tx_packet               frame == model's, once, in order per queue
on_rx_inject + RX used     placed in the predicted buffers with predicted
                           header/lens (§6.2), filtered frames never delivered
on_backend_op              one expected blk backend operation per request
on_link                    link change: config_generation bumps, a config-change
                           notification is owed (§6.3)
finish                     the above for everything still outstanding
=========================  =====================================================

Not checked: INTx assertion (MSI-X disabled: only ISR reads are judged),
the exact moment a PBA bit is set, DMA read data (it comes from host
memory, not from the device).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

from .blk import BackendOp, BackendOpKind
from .buffers import Buffer
from .coalescing import CoalescingTiming
from .common_cfg import NO_VECTOR, Reg
from .event_suppression import (
    NotificationClass,
    NotificationVerdict,
    NotifyDecision,
    SplitEvent,
)
from .features import NetFeature, Transport
from .function import FunctionConfig, FunctionModel, Pending, QueueKind, QueueState, Region
from .memory import SparseMemory
from .mismatch import CheckError, CheckerOptions, Mismatch
from .net import NetStatus
from .net_rx import RxResult, write_rx
from .packed_layout import DESC_SIZE, DescFlag, EventFlags, EventSuppress, PackedDesc, used_flags
from .packed_ring import PackedRingDevice
from .ranges import WrittenImage, covered
from .split_ring import SplitRingDevice

__all__ = ["Checker", "NotificationReport"]

Interval = tuple[int, int]


@dataclass(frozen=True)
class NotificationReport:
    """How one MSI-X message was judged, per event source on its vector."""

    function: int
    vector: int
    time: int
    queues: dict[int, NotificationVerdict]
    config: Optional[NotificationClass] = None
    #: per queue source: before the coalescing condition was met (EARLY, legal but not coalesced, §6.6) or not
    coalescing: dict[int, CoalescingTiming] = field(default_factory=dict)
    #: per queue source with packets pending: message time minus the time the condition was met (ns)
    coalescing_margin: dict[int, int] = field(default_factory=dict)


@dataclass
class _TxExpect:
    vq: int
    buf: Buffer
    frame: bytes
    seen: bool = False
    used: bool = False


@dataclass
class _RxFrame:
    frame: bytes
    accepted: bool
    time: int


@dataclass
class _OpExpect:
    vq: int
    buf: Buffer
    op: BackendOp
    used: bool = False


@dataclass
class _FnState:
    """Checker-side bookkeeping of one function."""

    reset_pending: bool = False
    queue_reset_at: dict[int, int] = field(default_factory=dict)
    broken_unconfirmed: dict[int, str] = field(default_factory=dict)
    config_owed_since: Optional[int] = None
    isr_may: int = 0
    tx: list[_TxExpect] = field(default_factory=list)
    ops: list[_OpExpect] = field(default_factory=list)
    rx_frames: list[_RxFrame] = field(default_factory=list)
    rx_in_progress: dict[int, deque[tuple[Buffer, int]]] = field(default_factory=dict)
    used_ready: dict[int, set[int]] = field(default_factory=dict)

    def forget_queue(self, vq: Optional[int] = None) -> None:
        """Drop expectations of one queue (or all, for a device reset)."""
        self.tx = [t for t in self.tx if vq is not None and t.vq != vq]
        self.ops = [o for o in self.ops if vq is not None and o.vq != vq]
        if vq is None:
            self.rx_in_progress.clear()
            self.used_ready.clear()
            self.broken_unconfirmed.clear()
            self.config_owed_since = None
        else:
            self.rx_in_progress.pop(vq, None)
            self.used_ready.pop(vq, None)
            self.broken_unconfirmed.pop(vq, None)


class Checker:
    """Scoreboard over one device with the given functions (see module docstring)."""

    def __init__(
        self, functions: Mapping[int, FunctionConfig], options: CheckerOptions = CheckerOptions()
    ) -> None:
        self.opts = options
        self.shadow = SparseMemory()
        self.models = {fid: FunctionModel(fid, cfg, self.shadow) for fid, cfg in functions.items()}
        self.device_writes = WrittenImage()
        self.mismatches: list[Mismatch] = []
        self.warnings: list[str] = []
        self.reports: list[NotificationReport] = []
        self._st = {fid: _FnState() for fid in functions}

    # -- reporting -------------------------------------------------------------------------------
    def _report(
        self,
        check: str,
        fid: int,
        queue: Optional[int],
        slot: Optional[int],
        expected: object,
        actual: object,
        time: int,
        detail: str = "",
    ) -> Mismatch:
        m = Mismatch(check, fid, queue, slot, expected, actual, time, detail)
        self.mismatches.append(m)
        if self.opts.raise_on_mismatch:
            raise CheckError(m)
        return m

    def model(self, fid: int) -> FunctionModel:
        """The model of function ``fid``."""
        return self.models[fid]

    # -- host side ---------------------------------------------------------------------------------
    def host_write(self, addr: int, data: bytes) -> None:
        """The host (driver model, test) wrote memory: update the private copy."""
        self.shadow.write(addr, data)

    # -- registers -----------------------------------------------------------------------------------
    def on_register_write(
        self, fid: int, region: Region, offset: int, width: int, value: int, time: int
    ) -> None:
        """A driver write to a register of ``fid`` (notify region: a queue notification)."""
        f, st = self.models[fid], self._st[fid]
        if region == Region.NOTIFY:
            self.on_notify(fid, value & 0xFFFF, time)
            return
        if region == Region.COMMON and offset == Reg.DEVICE_STATUS and width == 1:
            if value & 0xFF == 0:
                st.reset_pending = True
                self._unfinished_writes_unspecified(fid, None)
                st.forget_queue(None)
                st.rx_frames.clear()
            else:
                st.reset_pending = False  # re-initialisation started: the reset is over
        if region == Region.COMMON and offset == Reg.QUEUE_RESET and width == 2 and value == 1:
            vq = f.common.queue_select
            st.queue_reset_at[vq] = time
            self._unfinished_writes_unspecified(fid, vq)
            st.forget_queue(vq)
        had_needs_reset = f.common.status.needs_reset
        f.write(region, offset, width, value, time)
        if not had_needs_reset and f.common.status.needs_reset and f.common.status.driver_ok:
            st.config_owed_since = time
            st.isr_may |= 2
        if region == Region.COMMON and offset == Reg.DEVICE_STATUS:
            self._sync(fid)

    def on_link(self, fid: int, up: bool, time: int) -> None:
        """The bench changed the link state of net function ``fid`` (§6.3: config change)."""
        f, st = self.models[fid], self._st[fid]
        cfg = f.net_config
        if cfg is None:
            raise ValueError(f"fn {fid} is not a net function")
        old = cfg.status
        cfg.status = (old | NetStatus.LINK_UP) if up else (old & ~NetStatus.LINK_UP)
        if cfg.status != old:
            f.common.bump_generation()
            if f.common.status.driver_ok:
                st.config_owed_since = time
                st.isr_may |= 2

    def on_flr(self, fid: int, time: int) -> None:
        """Function level reset of ``fid``: model registers, queues and MSI-X restart."""
        st = self._st[fid]
        self._unfinished_writes_unspecified(fid, None)
        st.forget_queue(None)
        st.rx_frames.clear()
        st.reset_pending = False
        st.isr_may = 0
        self.models[fid].function_level_reset(time)

    def on_dma_fault(self, fid: int, reason: str, time: int, vq: Optional[int] = None) -> None:
        """The host failed a DMA read of ``fid`` (UR/CA/poisoned completion, or none in time).

        The data never reached the device, so the buffer being served cannot
        be completed: an unrecoverable error, DEVICE_NEEDS_RESET with a
        configuration-change notification (virtio.md §1.3). From here on the
        checker accepts DEVICE_NEEDS_RESET in ``device_status`` and owes
        nothing for buffers the model took but the device never used.
        """
        del time
        self._st[fid].broken_unconfirmed[-1 if vq is None else vq] = f"DMA read fault: {reason}"

    def on_msix_control(self, fid: int, value: int, time: int) -> None:
        """A write of the MSI-X Message Control word of ``fid``."""
        self.models[fid].msix_control_write(value, time)

    def on_notify(self, fid: int, vq: int, time: int) -> None:
        """The driver notified queue ``vq`` (the model takes what is available)."""
        del vq, time
        self._sync(fid)

    def on_register_read(
        self, fid: int, region: Region, offset: int, width: int, value: int, time: int
    ) -> Optional[Mismatch]:
        """A register read of ``fid`` returned ``value``; compare with the model."""
        f, st = self.models[fid], self._st[fid]
        if region == Region.ISR:
            may, st.isr_may = st.isr_may, 0
            f.isr = 0
            if value & ~may:
                return self._report("register", fid, None, None, f"bits within {may:#x}", value, time,
                                    "ISR bits set with no event behind them (§3.5)")
            return None
        if region == Region.MSIX_PBA:
            for bit in range(8 * width):
                v = 8 * offset + bit
                if value >> bit & 1 and not self._sources(f, v)[0] and not self._sources(f, v)[1]:
                    return self._report("msix", fid, None, None, 0, value, time,
                                        f"PBA bit for vector {v}, which has no event source")
            return None
        if region == Region.NOTIFY:
            return None
        expected = f.read(region, offset, width)
        if region == Region.COMMON and offset == Reg.DEVICE_STATUS and width == 1:
            if st.reset_pending:
                if value == 0:
                    st.reset_pending = False
                return None
            if st.broken_unconfirmed and value == expected | 0x40:
                self._confirm_needs_reset(fid, time)
                return None
        if (
            region == Region.COMMON
            and offset == Reg.QUEUE_RESET
            and value == 1
            and time - st.queue_reset_at.get(f.common.queue_select, -(1 << 62)) <= self.opts.reg_settle
        ):
            return None
        if value != expected:
            return self._report("register", fid, None, None, expected, value, time,
                                f"{region.value} offset {offset:#x} width {width}")
        return None

    def _confirm_needs_reset(self, fid: int, time: int) -> None:
        f, st = self.models[fid], self._st[fid]
        reason = "; ".join(st.broken_unconfirmed.values())
        st.broken_unconfirmed.clear()
        if f.common.set_needs_reset(reason) and f.common.status.driver_ok:
            st.config_owed_since = time
            st.isr_may |= 2

    # -- queues ---------------------------------------------------------------------------------------
    def _sync(self, fid: int) -> None:
        f, st = self.models[fid], self._st[fid]
        if st.reset_pending or not f.live:
            return
        for vq in list(f.queues):
            q = f.queues[vq]
            was_broken = q.broken is not None
            for p in f.sync(vq):
                c = p.completion
                if c is None:
                    continue
                if c.tx is not None and c.tx.frame is not None:
                    st.tx.append(_TxExpect(vq, p.buf, c.tx.frame))
                if c.blk is not None:
                    st.ops.extend(_OpExpect(vq, p.buf, op) for op in c.blk.ops)
            if q.broken is not None and not was_broken:
                st.broken_unconfirmed[vq] = q.broken.reason

    def _ring_intervals(self, q: QueueState, for_write: bool) -> list[Interval]:
        r = q.ring
        if isinstance(r, PackedRingDevice):
            out = [(r.desc_addr, DESC_SIZE * r.size), (r.device_area, 4)]
            if not for_write:
                out.append((r.driver_area, 4))
            return out
        lay = r.layout
        out = [(lay.used, 6 + 8 * r.size)]
        if not for_write:
            out += [(lay.desc, 16 * r.size), (lay.avail, 6 + 2 * r.size)]
        return out

    def _owned(self, f: FunctionModel, for_write: bool) -> list[Interval]:
        out: list[Interval] = []
        for q in f.queues.values():
            out += self._ring_intervals(q, for_write)
            if q.broken is not None and not for_write:
                out += list(q.broken.readable)  # e.g. the indirect table that held the fault
            for p in q.pending:
                out += [(s.addr, s.length) for s in p.buf.segments if s.writable or not for_write]
                if p.buf.table is not None and not for_write:
                    out.append((p.buf.table.addr, p.buf.table.length))
        return out

    def _check_owner(self, fid: int, addr: int, n: int, for_write: bool, time: int) -> Optional[Mismatch]:
        f = self.models[fid]
        if covered(addr, n, self._owned(f, for_write)):
            if not for_write and not covered(addr, n, self._owned_strict_read(f)):
                self.warnings.append(f"t={time}: fn {fid} read device-writable memory at {addr:#x}")
            return None
        for gid, g in self.models.items():
            if gid != fid:
                self._sync(gid)
                if covered(addr, n, self._owned(g, for_write)):
                    return self._report("isolation", fid, None, None, f"requester fn {gid}", f"fn {fid}",
                                        time, f"{'write' if for_write else 'read'} of {n} bytes at "
                                        f"{addr:#x} belongs to fn {gid}")
        kind = "write" if for_write else "read"
        return self._report("dma", fid, None, None, "memory handed over by the driver", f"{addr:#x}+{n}",
                            time, f"DMA {kind} outside every ring and buffer of the function")

    def _owned_strict_read(self, f: FunctionModel) -> list[Interval]:
        out: list[Interval] = []
        for q in f.queues.values():
            out += self._ring_intervals(q, False)
            if q.broken is not None:
                out += list(q.broken.readable)
            for p in q.pending:
                out += [(s.addr, s.length) for s in p.buf.segments if not s.writable]
                if p.buf.table is not None:
                    out.append((p.buf.table.addr, p.buf.table.length))
        return out

    def _dma_allowed(self, fid: int, kind: str, addr: int, time: int) -> bool:
        f, st = self.models[fid], self._st[fid]
        if st.reset_pending:
            return False  # in-flight DMA drained during a reset: not judged
        if not f.common.status.driver_ok:
            self._report("dma", fid, None, None, "no DMA before DRIVER_OK", f"{kind} at {addr:#x}", time,
                         f"status {f.common.status.value:#04x}")
            return False
        return True

    def on_dma_read(self, fid: int, addr: int, data: bytes, time: int) -> Optional[Mismatch]:
        """Function ``fid`` read ``data`` at ``addr`` (a DMA read completion)."""
        if not self._dma_allowed(fid, "read", addr, time):
            return None
        self._sync(fid)
        m = self._check_owner(fid, addr, len(data), False, time)
        if m is not None:
            return m
        f = self.models[fid]
        for vq, q in list(f.queues.items()):
            snap = self._evaluation_snapshot(q, addr, data)
            if snap is not None:
                if q.notify.on_evaluate(snap, time) != NotifyDecision.REQUIRED:
                    q.coalescing.on_quiet_evaluation(time)
        return None

    def _evaluation_snapshot(
        self, q: QueueState, addr: int, data: bytes
    ) -> Union[EventSuppress, SplitEvent, None]:
        end = addr + len(data)
        r = q.ring
        if isinstance(r, PackedRingDevice):
            a = r.driver_area
            if addr <= a and a + 4 <= end:
                return EventSuppress.unpack(data[a - addr : a - addr + 4])
            return None
        lay = r.layout
        if r.event_idx:
            a = lay.used_event
            if addr <= a and a + 2 <= end:
                return SplitEvent(0, int.from_bytes(data[a - addr : a - addr + 2], "little"))
            return None
        a = lay.avail_flags
        if addr <= a and a + 2 <= end:
            return SplitEvent(int.from_bytes(data[a - addr : a - addr + 2], "little"), 0)
        return None

    def on_dma_write(self, fid: int, addr: int, data: bytes, time: int) -> Optional[Mismatch]:
        """Function ``fid`` wrote ``data`` at ``addr``."""
        if not self._dma_allowed(fid, "write", addr, time):
            return None
        self._sync(fid)
        m = self._check_owner(fid, addr, len(data), True, time)
        if m is not None:
            return m
        self.device_writes.write(addr, data)
        f = self.models[fid]
        end = addr + len(data)
        for vq, q in list(f.queues.items()):
            r = q.ring
            if isinstance(r, PackedRingDevice):
                first = max(0, (addr - r.desc_addr) // DESC_SIZE)
                last = min(r.size - 1, (end - 1 - r.desc_addr) // DESC_SIZE)
                ready = self._st[fid].used_ready.setdefault(vq, set())
                for slot in range(first, last + 1):
                    flags_at = r.desc_addr + DESC_SIZE * slot + 14
                    if addr <= flags_at and flags_at + 2 <= end:
                        ahead = (slot - r.used.off) % r.size
                        window = (r.avail.circle(r.size) - r.used.circle(r.size)) % (2 * r.size)
                        if ahead >= window:
                            return self._report("used", fid, vq, slot, f"a slot in the {window} fetched "
                                                f"from {r.used.off}", slot, time,
                                                "used descriptor outside the fetched, unused window (§4.3)")
                        ready.add(slot)
                # a batch may expose later slots before the first one (§4.3): judge in ring order
                while r.used.off in ready:
                    ready.discard(r.used.off)
                    mm = self._packed_used(fid, q, r.used.off, time)
                    if mm is not None:
                        return mm
            else:
                a = r.layout.used_idx
                if addr <= a and a + 2 <= end:
                    new_idx = int.from_bytes(data[a - addr : a - addr + 2], "little")
                    mm = self._split_used(fid, q, new_idx, time)
                    if mm is not None:
                        return mm
        return None

    # -- used elements ----------------------------------------------------------------------------------------
    def _packed_used(self, fid: int, q: QueueState, slot: int, time: int) -> Optional[Mismatch]:
        r = q.ring
        assert isinstance(r, PackedRingDevice)
        base = r.desc_addr + DESC_SIZE * slot
        if not self.device_writes.fully_written(base + 8, 6):
            return self._report("used", fid, q.index, slot, "id and len written before flags",
                                "flags only", time, "§4.3 write order")
        d = PackedDesc.unpack(self.device_writes.read(base, DESC_SIZE))
        self.device_writes.forget(base, DESC_SIZE)
        if slot != r.used.off:
            return self._report("used", fid, q.index, slot, r.used.off, slot, time,
                                "used descriptor at the wrong slot (§4.3)")
        wrap_bits = d.flags & (DescFlag.AVAIL | DescFlag.USED)
        if wrap_bits != used_flags(r.used.wrap):
            return self._report("used", fid, q.index, slot, used_flags(r.used.wrap), wrap_bits, time,
                                "AVAIL/USED must both equal the device wrap counter")
        pend = q.find(d.id)
        if pend is None:
            return self._report("used", fid, q.index, slot, [p.buf.id for p in q.pending], d.id, time,
                                "used id is not an outstanding buffer")
        batch = [pend]
        if f_has(self.models[fid], Transport.IN_ORDER) and pend is not q.pending[0]:
            idx = list(q.pending).index(pend)
            batch = list(q.pending)[: idx + 1]
        if self.opts.check_used_write_flag and bool(d.flags & DescFlag.WRITE) != (d.len > 0):
            return self._report("used", fid, q.index, slot, "WRITE iff len > 0", f"flags {d.flags:#06x}",
                                time, f"len {d.len} (§10 #6)")
        m = self._judge(fid, q, pend, d.len, slot, time)
        if m is not None:
            return m
        if len(batch) > 1:
            for p in batch:
                if p is not pend:
                    self._mark_used(fid, q, p, time)
                if p in q.pending:
                    q.pending.remove(p)
            e = r.push_used_in_order([p.buf for p in batch], d.len)
        else:
            if pend in q.pending:
                q.pending.remove(pend)
            e = r.push_used(pend.buf, d.len)
        q.notify.on_used(e.skip, time)
        return None

    def _split_used(self, fid: int, q: QueueState, new_idx: int, time: int) -> Optional[Mismatch]:
        r = q.ring
        assert isinstance(r, SplitRingDevice)
        count = (new_idx - r.used_idx) & 0xFFFF
        if count == 0:
            return None
        if count > r.size:
            return self._report("used", fid, q.index, None, f"<= {r.size} new entries", count, time,
                                "used idx moved too far")
        for _ in range(count):
            idx = r.used_idx
            a = r.layout.used_ring(idx)
            if self.device_writes.fully_written(a, 8):
                raw = self.device_writes.read(a, 8)
                self.device_writes.forget(a, 8)
                bid, length = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")
                pend = q.find(bid)
                if pend is None:
                    return self._report("used", fid, q.index, idx, [p.buf.id for p in q.pending], bid, time,
                                        "used id is not an outstanding head")
                m = self._judge(fid, q, pend, length, idx, time)
                if m is not None:
                    return m
            elif f_has(self.models[fid], Transport.IN_ORDER) and q.pending:
                pend, length = q.pending[0], 0  # implied by an in-order batch (§5)
                self._mark_used(fid, q, pend, time)
            else:
                return self._report("used", fid, q.index, idx, "used entry written before idx",
                                    "not written", time, "§5: element before idx")
            q.pending.remove(pend)
            r.push_used(pend.buf, length)
        q.notify.on_used(count, time)
        return None

    def _judge(self, fid: int, q: QueueState, pend: Pending, length: int, slot: int, time: int) -> Optional[Mismatch]:
        st = self._st[fid]
        st.isr_may |= 1
        if q.kind == QueueKind.RX:
            return self._judge_rx(fid, q, pend, length, slot, time)
        c = pend.completion
        assert c is not None
        if length != c.used_len:
            return self._report("used", fid, q.index, slot, c.used_len, length, time,
                                f"used len of buffer id {pend.buf.id}")
        return self._compare(fid, q.index, slot, self._mark_used(fid, q, pend, time), time)

    def _mark_used(self, fid: int, q: QueueState, pend: Pending, time: int) -> list[Interval]:
        """Bookkeeping for a used TX/blk/ctrl buffer; returns the ranges the model wrote."""
        st = self._st[fid]
        c = pend.completion
        ranges: list[Interval] = []
        if c is None:
            return ranges
        if c.blk is not None:
            room = pend.buf.writable_len
            skip_data = any(
                op.kind == BackendOpKind.READ and self._discarded(fid, op.sector, op.count)
                for op in c.blk.ops
            )
            if not skip_data:
                ranges += pend.buf.writable_ranges(0, len(c.blk.data))
            ranges += pend.buf.writable_ranges(room - 1, 1)
            for o in st.ops:
                if o.buf is pend.buf:
                    o.used = True
        elif c.ctrl is not None:
            ranges += pend.buf.writable_ranges(0, c.used_len)
            self.models[fid].apply_ctrl_effects(c.ctrl, time)
        elif c.tx is not None:
            q.coalescing.on_packet(time)
            for t in st.tx:
                if t.buf is pend.buf:
                    t.used = True
        return ranges

    def _unfinished_writes_unspecified(self, fid: int, vq: Optional[int]) -> None:
        """A reset (device, queue or FLR) drops requests the model took but the device never performed.

        The model applied a blk OUT to its disk when it took the buffer; the device may not have
        written the medium at all (a DMA fault before the data, a reset drain). Those sectors are
        unspecified from here on (virtio.md §1.3: a reset discards in-flight requests; §7: a request
        without a used buffer has no defined effect): a later read of them is not compared until they
        are written again, as after DISCARD.
        """
        blk = self.models[fid].blk
        if blk is None:
            return
        for o in self._st[fid].ops:
            if (vq is None or o.vq == vq) and o.op.kind == BackendOpKind.WRITE:
                blk.disk.discarded.update(range(o.op.sector, o.op.sector + o.op.count))

    def _discarded(self, fid: int, sector: int, count: int) -> bool:
        blk = self.models[fid].blk
        return blk is not None and any(s in blk.disk.discarded for s in range(sector, sector + count))

    def _compare(self, fid: int, vq: int, slot: int, ranges: Sequence[Interval], time: int,
                 data_valid_at: Optional[int] = None) -> Optional[Mismatch]:
        for addr, n in ranges:
            if not self.device_writes.fully_written(addr, n):
                return self._report("data", fid, vq, slot, f"{n} bytes written at {addr:#x}", "missing",
                                    time, "the model wrote bytes the device did not")
            exp, act = self.shadow.read(addr, n), self.device_writes.read(addr, n)
            if exp != act and data_valid_at is not None and addr <= data_valid_at < addr + n:
                k = data_valid_at - addr
                if exp[:k] + bytes([exp[k] | 2]) + exp[k + 1 :] == act:
                    exp = act
            if exp != act:
                k = next(i for i in range(n) if exp[i] != act[i])
                return self._report("data", fid, vq, slot, exp[k : k + 16].hex(), act[k : k + 16].hex(),
                                    time, f"first difference at {addr + k:#x}")
        return None

    def _judge_rx(self, fid: int, q: QueueState, pend: Pending, length: int, slot: int, time: int) -> Optional[Mismatch]:
        f, st = self.models[fid], self._st[fid]
        prog = st.rx_in_progress.get(q.index)
        if prog:
            buf, exp_len = prog.popleft()
            if buf is not pend.buf:
                return self._report("rx", fid, q.index, slot, buf.id, pend.buf.id, time,
                                    "next buffer of a mergeable packet")
            if length != exp_len:
                return self._report("used", fid, q.index, slot, exp_len, length, time, "RX used len")
            return self._compare(fid, q.index, slot, buf.writable_ranges(0, exp_len), time)
        assert f.net_ctrl is not None
        if q.pair >= f.net_ctrl.curr_pairs:
            return self._report("rx", fid, q.index, slot, f"pair < {f.net_ctrl.curr_pairs}", q.pair, time,
                                "RX on a queue pair not in use (§6.1)")
        dv = None
        if self.opts.allow_data_valid and f.has_feature(NetFeature.GUEST_CSUM):
            dv = pend.buf.writable_ranges(0, 1)[0][0] if pend.buf.writable_len else None
        actual = self._written(pend.buf, length)
        for cand in st.rx_frames:
            plan = f.place_frame(q.index, cand.frame, commit=False)
            if plan.result != RxResult.PLACED or plan.buffers[0] is not pend.buf:
                continue
            stream = (plan.header + cand.frame)[: plan.lens[0]]
            if actual is None or not _same_rx(stream, actual, dv is not None):
                continue
            st.rx_frames.remove(cand)
            if not cand.accepted:
                return self._report("rx", fid, q.index, slot, "frame dropped (receive filter, or device "
                                    "not live when it arrived)", "delivered", time, "§6.4 RX filtering")
            write_rx(plan, cand.frame, self.shadow)
            if length != plan.lens[0]:
                return self._report("used", fid, q.index, slot, plan.lens[0], length, time, "RX used len")
            st.rx_in_progress[q.index] = deque(zip(plan.buffers[1:], plan.lens[1:]))
            q.coalescing.on_packet(time)
            return self._compare(fid, q.index, slot, pend.buf.writable_ranges(0, length), time, dv)
        return self._report("rx", fid, q.index, slot, "an injected frame, placed as the model predicts",
                            (actual or b"")[:32].hex(), time,
                            "no pending injected frame matches this buffer's contents")

    def _written(self, buf: Buffer, length: int) -> Optional[bytes]:
        out = bytearray()
        for a, n in buf.writable_ranges(0, length):
            if not self.device_writes.fully_written(a, n):
                return None
            out += self.device_writes.read(a, n)
        return bytes(out)

    # -- notifications -------------------------------------------------------------------------------------------
    def _sources(self, f: FunctionModel, vector: int) -> tuple[list[int], bool]:
        queues = [vq for vq in f.queues if f.common.queues[vq].msix_vector == vector]
        return queues, f.common.config_msix_vector == vector

    def on_msix_message(self, fid: int, address: int, data: int, time: int) -> Optional[NotificationReport]:
        """Function ``fid`` sent an MSI-X message (a DWORD write of ``data`` to ``address``)."""
        f, st = self.models[fid], self._st[fid]
        if st.reset_pending:
            return None  # raced with the reset write: drained like in-flight DMA (§1.3), not judged
        if not f.msix.enabled:
            self._report("msix", fid, None, None, "MSI-X enabled", "disabled", time, "message while disabled")
            return None
        cands = f.msix.vector_for(address, data)
        if not cands:
            self._report("msix", fid, None, None, "a programmed (address, data)", (address, data), time,
                         "message matches no table entry")
            return None
        live = [v for v in cands if f.msix.deliverable(v)]
        if not live:
            self._report("msix", fid, None, None, "unmasked vector", cands, time,
                         "message on a masked vector (§9.3: set the pending bit instead)")
            return None
        if not f.common.status.driver_ok:
            self._report("notification", fid, None, None, "no notification before DRIVER_OK", live[0], time)
            return None
        vector = next((v for v in live if any(f.queues[q].notify.unanswered() for q in self._sources(f, v)[0])),
                      live[0])
        queues, config = self._sources(f, vector)
        if not queues and not config:
            self._report("msix", fid, None, None, "a queue or config source on the vector", vector, time,
                         "vector has no event source")
            return None
        verdicts = {}
        timing: dict[int, CoalescingTiming] = {}
        margin: dict[int, int] = {}
        for vq in queues:
            q = f.queues[vq]
            snap, settled = q.notify.last_snapshot, q.notify.all_evaluated
            verdicts[vq] = q.notify.on_notification(time)
            met = q.coalescing.condition_time()
            if met is not None:
                margin[vq] = time - met
            timing[vq] = q.coalescing.on_notification(time)
            if (
                self.opts.strict_disable
                and not config
                and len(queues) == 1
                and verdicts[vq].kind == NotificationClass.SPURIOUS
                and settled
                and isinstance(snap, EventSuppress)
                and snap.mode == EventFlags.DISABLE
            ):
                self._report("notification", fid, vq, None, "no notification (driver event flags DISABLE)",
                             f"MSI-X vector {vector}", time,
                             "the device's last read of the driver event suppression saw DISABLE (§4.4)")
        cfg_class: Optional[NotificationClass] = None
        if config:
            if st.broken_unconfirmed:
                self._confirm_needs_reset(fid, time)
            if st.config_owed_since is not None:
                cfg_class, st.config_owed_since = NotificationClass.REQUIRED, None
                st.isr_may |= 2
            else:
                cfg_class = NotificationClass.SPURIOUS
        rep = NotificationReport(fid, vector, time, verdicts, cfg_class, timing, margin)
        self.reports.append(rep)
        return rep

    def check_deadlines(self, now: int) -> list[Mismatch]:
        """Report every required notification that is overdue at ``now`` (once each)."""
        out: list[Mismatch] = []
        slack = self.opts.irq_slack
        for fid, f in self.models.items():
            st = self._st[fid]
            if not f.common.status.driver_ok or not f.msix.enabled or st.reset_pending:
                continue
            for vq, q in f.queues.items():
                r = q.notify.unanswered()
                if r is None:
                    continue
                v = f.common.queues[vq].msix_vector
                if v == NO_VECTOR:
                    q.notify.outstanding = None  # §3.5: nothing is delivered
                    continue
                since = f.msix.deliverable_since(v)
                if since is None:
                    continue  # masked: the pending bit carries it (§9.3)
                deadline = max(q.coalescing.latest(r.used_time, slack), since + slack)
                if now > deadline:
                    q.notify.outstanding = None
                    out.append(self._report("notification", fid, vq, None, f"MSI-X by t={deadline}",
                                             "none", now, f"required since t={r.used_time}: {r.reason}"))
            if st.config_owed_since is not None:
                v = f.common.config_msix_vector
                since = f.msix.deliverable_since(v) if v != NO_VECTOR else None
                if v == NO_VECTOR:
                    st.config_owed_since = None
                elif since is not None and now > max(st.config_owed_since, since) + slack:
                    out.append(self._report("notification", fid, None, None, "config-change MSI-X", "none", now,
                                             f"DEVICE_NEEDS_RESET since t={st.config_owed_since} (§1.3)"))
                    st.config_owed_since = None
        return out

    # -- data plane ------------------------------------------------------------------------------------------------
    def on_tx_packet(self, frame: bytes, time: int, fid: Optional[int] = None) -> Optional[Mismatch]:
        """A frame left the device's network port (from ``fid`` if the port says so)."""
        fids = [fid] if fid is not None else list(self.models)
        for g in fids:
            self._sync(g)
        for g in fids:
            st = self._st[g]
            heads: dict[int, _TxExpect] = {}
            for t in st.tx:
                if not t.seen and t.vq not in heads:
                    heads[t.vq] = t
            for t in heads.values():
                if t.frame == frame:
                    t.seen = True
                    st.tx = [x for x in st.tx if not (x.seen and x.used)]
                    return None
            later = next((t for t in st.tx if not t.seen and t.frame == frame), None)
            if later is not None:
                return self._report("tx", g, later.vq, None, heads[later.vq].frame[:32].hex(),
                                    frame[:32].hex(), time, "frame sent out of order within its queue")
        return self._report("tx", fids[0] if len(fids) == 1 else -1, None, None, "a frame the driver queued",
                            frame[:32].hex(), time, "unexpected TX frame")

    def on_rx_inject(self, fid: int, frame: bytes, time: int) -> None:
        """The bench sent ``frame`` from the wire towards net function ``fid``."""
        f = self.models[fid]
        self._st[fid].rx_frames.append(_RxFrame(frame, f.live and f.rx_accepts(frame), time))

    def on_backend_op(self, fid: int, op: BackendOp, time: int) -> Optional[Mismatch]:
        """The blk engine of ``fid`` issued ``op`` to the disk model."""
        st = self._st[fid]
        if st.reset_pending:
            return None  # raced with the reset write: in-flight work is drained, not judged (§1.3)
        self._sync(fid)
        for o in st.ops:
            if o.op == op:
                st.ops.remove(o)
                return None
        return self._report("backend", fid, None, None, [o.op for o in st.ops][:4], op, time,
                            "backend operation no request asked for")

    # -- end of test -----------------------------------------------------------------------------------------------
    def finish(self, now: int) -> list[Mismatch]:
        """Flush evaluations, check deadlines and everything left outstanding; returns all mismatches."""
        for fid, f in self.models.items():
            if self._st[fid].reset_pending:
                continue
            for q in f.queues.values():
                q.notify.flush(q.ring.read_driver_event(), now)
        self.check_deadlines(now)
        for fid in self.models:
            st = self._st[fid]
            for vq, ready in st.used_ready.items():
                qs = self.models[fid].queues.get(vq)
                if ready and qs is not None and isinstance(qs.ring, PackedRingDevice):
                    self._report("used", fid, vq, min(ready), qs.ring.used.off, sorted(ready), now,
                                 "used descriptors written after a slot that never became used")
            for t in st.tx:
                if t.used and not t.seen:
                    self._report("tx", fid, t.vq, None, t.frame[:32].hex(), "never sent", now,
                                 f"buffer id {t.buf.id} was used but its frame never left the port")
            for o in st.ops:
                if o.used:
                    self._report("backend", fid, o.vq, None, o.op, "never issued", now,
                                 f"request id {o.buf.id} completed without its backend operation")
            if not self.opts.allow_rx_drops:
                for r in st.rx_frames:
                    if r.accepted:
                        self._report("rx", fid, None, None, r.frame[:32].hex(), "never delivered", now,
                                     f"frame injected at t={r.time}")
        return list(self.mismatches)


def f_has(f: FunctionModel, bit: int) -> bool:
    """Feature ``bit`` negotiated on ``f``."""
    return f.has_feature(bit)


def _same_rx(expected: bytes, actual: bytes, allow_data_valid: bool) -> bool:
    if expected == actual:
        return True
    if allow_data_valid and len(expected) == len(actual) and expected[1:] == actual[1:]:
        return (expected[0] | 2) == actual[0]
    return False

