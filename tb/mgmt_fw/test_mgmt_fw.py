# SPDX-License-Identifier: Apache-2.0
"""vio_mgmt (RTL) with the REAL firmware in the loop (tb/fw_host.py FirmwareHost).

The firmware (host build of firmware/, vio_fw_boot + vio_fw_poll in a cocotb
bridge thread) reaches the DUT only through its AXI4-lite port and ``irq``.
Around it the bench plays:

* the control-queue engine on mb_*: command bytes into mb_cmd_data (first
  256), mb_cmd_len = true length, mb_rsp_room, mb_valid + a one-cycle
  mb_cmd_irq; then waits for mb_done and reads mb_rsp_len / mb_rsp_data (the
  first min(rsp_len, room, 256) bytes are the driver's answer), or -- when
  mb_timeout_us (the firmware's CTRLQ_TIMEOUT) microseconds pass first --
  drops mb_valid, pulses mb_timeout_irq and answers ERR itself (what
  vio_net_ctrlq does). A monitor records every mb_done, and one seen while
  mb_valid is low (a late answer) fails the test;
* the transport on mon_*: device_status, negotiated features (bits 63:0),
  queue enables of each function (ACK/DRIVER -> FEATURES_OK -> queues ->
  DRIVER_OK, device reset = status 0, queue disable / re-enable).

The reference is pymodel ``NetCtrl`` per net function, run on the same
commands and lifecycle events. After every command the bench checks the
answer bytes and what the firmware programmed into the RTL: net_mac,
net_status, net_pairs, net_rx_mode, the coalescing table (coal_rd_*) for
every data vq, the MAC filter RAM (64 entries, filt_mac_rd_*) and the VLAN
filter RAM (128 words, filt_vlan_rd_*). Function 2 is not a net function (the
firmware answers ERR for it and never programs it).

Documented divergence: a command longer than the 256-byte mailbox is answered
ERR by the firmware without being run (pymodel would run it): the bench
expects ERR and no state change. Each test logs its sim time, wall time and
the firmware's MMIO counts (the HAL round trip per access is the cost).
"""

from __future__ import annotations

import random
import struct
import time

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from pymodel.coalescing import CoalescingParams
from pymodel.features import NetFeature as N, Transport as T, mask
from pymodel.net import NetConfig, NetStatus
from pymodel.net_ctrl import NetCtrl
from tb.fw_host import BoardFunc, FirmwareHost
from tb.util import now

ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
MB_BYTES = 256
ALL = mask(T.VERSION_1, N.CTRL_VQ, N.CTRL_RX, N.CTRL_RX_EXTRA, N.CTRL_VLAN, N.GUEST_ANNOUNCE, N.MQ,
           N.CTRL_MAC_ADDR, N.CTRL_GUEST_OFFLOADS, N.GUEST_CSUM, N.NOTF_COAL, N.VQ_NOTF_COAL, N.MAC,
           N.STATUS)
MAC0 = bytes.fromhex("525400123456")
MAC1 = bytes.fromhex("02aabbccddee")
RX_NAMES = ("promisc", "allmulti", "alluni", "nomulti", "nouni", "nobcast", "uni_overflow", "multi_overflow")


def c(klass: int, command: int, data: bytes = b"") -> bytes:
    return bytes([klass, command]) + data


def mac_table(uni: list[bytes], multi: list[bytes]) -> bytes:
    return struct.pack("<I", len(uni)) + b"".join(uni) + struct.pack("<I", len(multi)) + b"".join(multi)


class TB:
    """vio_mgmt + FirmwareHost + the engine / transport players + pymodel per function."""

    def __init__(self, dut, *, ctrlq_timeout_us: int = 0, mmio_delay_cycles: int = 0) -> None:
        self.dut = dut
        self.t0 = time.monotonic()
        self.seed = cocotb.RANDOM_SEED
        self.rnd = random.Random(self.seed)
        dut._log.info(f"seed {self.seed} (rerun with SEED={self.seed})")
        self.nf = int(dut.NUM_FUNC.value)
        self.nqmax = int(dut.MAX_QUEUES.value)
        self.us_cycles = int(dut.US_CYCLES.value)
        cocotb.start_soon(Clock(dut.clk, 4, "ns").start())
        self.board = [BoardFunc(MAC0, 3), BoardFunc(MAC1, 2, link_up=False), BoardFunc(is_net=False)][: self.nf]
        self.nq = [2 * b.max_pairs + 1 if b.is_net else 3 for b in self.board]
        assert max(self.nq) <= self.nqmax
        self.status = [0] * self.nf
        self.features = [0] * self.nf
        self.qen = [0] * self.nf
        self.models = {
            f: NetCtrl(NetConfig(mac=b.mac, max_virtqueue_pairs=b.max_pairs,
                                 status=NetStatus.LINK_UP if b.link_up else NetStatus(0)),
                       vq_enabled=self._enabled_fn(f))
            for f, b in enumerate(self.board) if b.is_net}
        for name in ("mb_valid", "mb_func", "mb_queue", "mb_cmd_len", "mb_rsp_room", "mb_cmd_data",
                     "mb_cmd_irq", "mb_timeout_irq", "mon_status", "mon_features", "mon_queue_en",
                     "coal_rd_func", "coal_rd_vq", "filt_mac_rd_en", "filt_mac_rd_func", "filt_mac_rd_index",
                     "filt_vlan_rd_en", "filt_vlan_rd_func", "filt_vlan_rd_index"):
            getattr(dut, name).value = 0
        dut.func_num_queues.value = sum(n << (16 * f) for f, n in enumerate(self.nq))
        dut.func_exists.value = (1 << self.nf) - 1      # PFs only (NUM_PF = NUM_FUNC): every function exists
        dut.func_flr.value = 0
        self.host = FirmwareHost(dut, self.board, ctrlq_timeout_us=ctrlq_timeout_us,
                                 mmio_delay_cycles=mmio_delay_cycles, poll_timeout_us=50)
        self.done_log: list[tuple[float, int, bool]] = []   # (ns, rsp_len, mb_valid at the pulse)
        self.commands = 0

    def _enabled_fn(self, f: int):  # type: ignore[no-untyped-def]
        return lambda vq: 0 <= vq < self.nq[f] and bool(self.qen[f] >> vq & 1)

    async def start(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        cocotb.start_soon(self._watch_done())
        self.host.start()
        await self.host.booted()
        await self.settle()
        for f in self.models:
            await self.check_state(f, "after boot")

    async def finish(self) -> None:
        assert not [d for d in self.done_log if not d[2]], \
            f"{now()}: mb_done while mb_valid was low (a late answer): {self.done_log}\n{self.host.trace()}"
        polls = await self.host.stop()
        st = self.host.stats()
        self.dut._log.info(
            f"sim {get_sim_time('us'):.1f} us, wall {time.monotonic() - self.t0:.2f} s, commands {self.commands}, "
            f"served {self.host.served}, polls {polls}, MMIO reads {self.host.n_reads} writes {self.host.n_writes} "
            f"(firmware counts {st})")

    async def _watch_done(self) -> None:
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            await ReadOnly()
            if int(d.mb_done.value):
                self.done_log.append((get_sim_time("ns"), int(d.mb_rsp_len.value), bool(int(d.mb_valid.value))))

    # -- transport (mon_*) --------------------------------------------------------------------
    def _drive_mon(self) -> None:
        d = self.dut
        d.mon_status.value = sum(s << (8 * f) for f, s in enumerate(self.status))
        d.mon_features.value = sum((x & (2**64 - 1)) << (128 * f) for f, x in enumerate(self.features))
        d.mon_queue_en.value = sum(q << (self.nqmax * f) for f, q in enumerate(self.qen))

    async def settle(self, limit_cycles: int = 200_000) -> None:
        """Wait until the firmware waits for its interrupt with nothing pending."""
        await ClockCycles(self.dut.clk, 4)
        n = 0
        while not (self.host.waiting and not int(self.dut.irq.value) and not int(self.dut.mb_valid.value)):
            await ClockCycles(self.dut.clk, 8)
            n += 8
            assert n < limit_cycles and not self.host.errors, \
                f"{now()}: the firmware did not settle ({self.host.errors})\n{self.host.trace()}"

    async def negotiate(self, f: int, features: int = ALL) -> None:
        """Driver init: ACK|DRIVER, features + FEATURES_OK, every queue enabled, DRIVER_OK."""
        self.status[f] = ACK | DRIVER
        self._drive_mon()
        await self.settle()
        self.features[f] = features
        self.status[f] |= FEATURES_OK
        self._drive_mon()
        await self.settle()
        self.models[f].set_features(features & (2**64 - 1))
        await self.set_qen(f, (1 << self.nq[f]) - 1)
        self.status[f] |= DRIVER_OK
        self._drive_mon()
        await self.settle()
        await self.check_state(f, "after driver init")

    async def set_qen(self, f: int, bits: int) -> None:
        rose = bits & ~self.qen[f]
        self.qen[f] = bits
        self._drive_mon()
        await self.settle()
        for vq in range(self.nq[f]):
            if rose >> vq & 1:
                self.models[f].on_queue_reenabled(vq)

    async def device_reset(self, f: int, then_ack: bool = False) -> None:
        """Driver writes status 0 (queues and features drop); optionally ACK right after."""
        self.status[f], self.features[f], self.qen[f] = 0, 0, 0
        self._drive_mon()
        if then_ack:
            await ClockCycles(self.dut.clk, 1)
            self.status[f] = ACK
            self._drive_mon()
        await self.settle()
        self.models[f].reset()

    # -- the control-queue engine (mb_*) ------------------------------------------------------
    async def mailbox(self, f: int, raw: bytes, room: int) -> tuple[bytes, bool]:
        """One command through the mailbox; (answer bytes as the driver sees them, timed out)."""
        d = self.dut
        await RisingEdge(d.clk)
        d.mb_cmd_data.value = int.from_bytes(raw[:MB_BYTES], "little")
        d.mb_func.value = f
        d.mb_queue.value = self.nq[f] - 1
        d.mb_cmd_len.value = min(len(raw), 0xFFFF)
        d.mb_rsp_room.value = min(room, 0xFFFF)
        d.mb_valid.value = 1
        d.mb_cmd_irq.value = 1
        await RisingEdge(d.clk)
        d.mb_cmd_irq.value = 0
        cycles = 1
        answer, timed_out = b"", False
        while True:
            await ReadOnly()
            if int(d.mb_done.value):
                n = min(int(d.mb_rsp_len.value), room, MB_BYTES)
                answer = int(d.mb_rsp_data.value).to_bytes(4 * 64, "little")[:n]
                break
            tmo = int(d.mb_timeout_us.value)
            if tmo and cycles >= tmo * self.us_cycles:
                timed_out, answer = True, b"\x01"[:room]
                break
            await RisingEdge(d.clk)
            cycles += 1
        await RisingEdge(d.clk)
        d.mb_valid.value = 0
        if timed_out:
            d.mb_timeout_irq.value = 1
            await RisingEdge(d.clk)
            d.mb_timeout_irq.value = 0
        self.commands += 1
        return answer, timed_out

    async def cmd(self, f: int, raw: bytes, room: int = 1, what: str = "") -> bytes:
        """A command checked against pymodel: answer bytes, then the programmed state."""
        got, timed_out = await self.mailbox(f, raw, room)
        assert not timed_out, f"{now()}: fn {f} cmd {raw[:16].hex()} {what}: mailbox timeout\n{self.host.trace()}"
        if f not in self.models:
            want = b"\x01"
        elif len(raw) > MB_BYTES:
            want = b"\x01"                     # the firmware cannot see it whole: ERR, not run
        else:
            out = self.models[f].handle(raw[0], raw[1], raw[2:], room)
            want = (bytes([out.ack]) + out.result)[:room]
        assert got == want, (f"{now()}: fn {f} queue {self.nq[f] - 1} cmd {raw[:16].hex()}{'..' if len(raw) > 16 else ''} "
                             f"(len {len(raw)}, room {room}) {what}: answer {got.hex()}, expected {want.hex()}\n"
                             f"{self.host.trace()}")
        await self.settle()
        if f in self.models:
            await self.check_state(f, f"after cmd {raw[:8].hex()} {what}")
        return got

    # -- what the firmware programmed --------------------------------------------------------------
    def _field(self, port: str, f: int, width: int) -> int:
        return int(getattr(self.dut, port).value) >> (width * f) & ((1 << width) - 1)

    async def _rd_ram(self, kind: str, f: int, i: int) -> int:
        d = self.dut
        getattr(d, f"filt_{kind}_rd_en").value = 1
        getattr(d, f"filt_{kind}_rd_func").value = f
        getattr(d, f"filt_{kind}_rd_index").value = i
        await RisingEdge(d.clk)
        getattr(d, f"filt_{kind}_rd_en").value = 0
        await ReadOnly()
        v = int(getattr(d, f"filt_{kind}_rd_data").value)
        await RisingEdge(d.clk)
        return v

    async def check_state(self, f: int, where: str) -> None:
        m = self.models[f]
        rf = m.rx_filter
        d = self.dut
        await RisingEdge(d.clk)
        await ReadOnly()
        got = {"net_mac": self._field("net_mac", f, 48), "net_status": self._field("net_status", f, 16),
               "net_pairs": self._field("net_pairs", f, 16), "net_rx_mode": self._field("net_rx_mode", f, 8)}
        want = {"net_mac": int.from_bytes(m.config.mac, "big"), "net_status": int(m.config.status),
                "net_pairs": m.curr_pairs,
                "net_rx_mode": sum(int(getattr(rf, n)) << b for b, n in enumerate(RX_NAMES))}
        for k in got:
            assert got[k] == want[k], (f"{now()}: fn {f} {where}: {k} {got[k]:#x}, expected {want[k]:#x}\n"
                                       f"{self.host.trace()}")
        await RisingEdge(d.clk)
        for vq in range(min(2 * m.config.max_virtqueue_pairs, self.nqmax)):
            d.coal_rd_func.value = f
            d.coal_rd_vq.value = vq
            await ClockCycles(d.clk, 1)
            await ReadOnly()
            cg = CoalescingParams(int(d.coal_rd_pkts.value), int(d.coal_rd_usecs.value))
            assert cg == m.coalescing(vq), (f"{now()}: fn {f} vq {vq} {where}: coalescing {cg}, "
                                            f"expected {m.coalescing(vq)}\n{self.host.trace()}")
            await RisingEdge(d.clk)
        macs = {i: 1 << 48 | int.from_bytes(a, "big") for i, a in enumerate(rf.uni)}
        macs.update({len(rf.uni) + i: 3 << 48 | int.from_bytes(a, "big") for i, a in enumerate(rf.multi)})
        for i in range(64):
            v = await self._rd_ram("mac", f, i)
            assert v == macs.get(i, 0), (f"{now()}: fn {f} MAC filter entry {i} {where}: {v:#x}, "
                                         f"expected {macs.get(i, 0):#x}\n{self.host.trace()}")
        words = [0] * 128
        for vid in rf.vlans:
            words[vid // 32] |= 1 << (vid % 32)
        for i in range(128):
            v = await self._rd_ram("vlan", f, i)
            assert v == words[i], (f"{now()}: fn {f} VLAN word {i} (vids {32 * i}..{32 * i + 31}) {where}: "
                                   f"{v:#010x}, expected {words[i]:#010x}\n{self.host.trace()}")


def macs(rnd: random.Random, n: int, multicast: bool) -> list[bytes]:
    out = []
    for _ in range(n):
        b = bytearray(rnd.randbytes(6))
        b[0] = (b[0] | 1) if multicast else (b[0] & 0xFE)
        out.append(bytes(b))
    return out


# ------------------------------------------------------------------------------------------------
@cocotb.test()
async def test_every_command_class(dut):
    """Each class once (RX, MAC, VLAN, ANNOUNCE, MQ, GUEST_OFFLOADS, NOTF_COAL incl. VQ_GET after VQ_SET), oversize, non-net."""
    tb = TB(dut)
    await tb.start()
    await tb.negotiate(0)
    rnd = tb.rnd
    for cmd in range(6):
        await tb.cmd(0, c(0, cmd, bytes([rnd.randrange(2)])), what=f"RX {cmd}")
    await tb.cmd(0, c(0, 0, b"\x00"), what="PROMISC off")
    await tb.cmd(0, c(1, 0, mac_table(macs(rnd, 3, False), macs(rnd, 4, True))), what="MAC TABLE_SET")
    await tb.cmd(0, c(2, 0, struct.pack("<H", 100)), what="VLAN ADD 100")
    await tb.cmd(0, c(2, 0, struct.pack("<H", 4095)), what="VLAN ADD 4095")
    await tb.cmd(0, c(1, 0, mac_table(macs(rnd, 1, False), [])), what="MAC TABLE_SET (VLANs kept)")
    await tb.cmd(0, c(2, 1, struct.pack("<H", 100)), what="VLAN DEL 100")
    await tb.cmd(0, c(1, 1, MAC1), what="MAC ADDR_SET")
    assert await tb.host.call(lambda lib, fw: lib.vio_fw_announce(fw, 0)) == 0
    tb.models[0].config.status |= NetStatus.ANNOUNCE
    await tb.settle()
    await tb.check_state(0, "after vio_fw_announce")
    await tb.cmd(0, c(3, 0), what="ANNOUNCE_ACK")
    await tb.cmd(0, c(4, 0, struct.pack("<H", 2)), what="VQ_PAIRS_SET 2")
    await tb.cmd(0, c(4, 0, struct.pack("<H", 4)), what="VQ_PAIRS_SET 4 > max")
    await tb.cmd(0, c(5, 0, struct.pack("<Q", 1 << 1)), what="GUEST_OFFLOADS_SET")
    await tb.cmd(0, c(6, 0, struct.pack("<II", 16, 40)), what="TX_SET")
    await tb.cmd(0, c(6, 1, struct.pack("<II", 8, 20)), what="RX_SET")
    await tb.cmd(0, c(6, 2, struct.pack("<HHII", 2, 0, 77, 99)), what="VQ_SET 2")
    got = await tb.cmd(0, c(6, 3, struct.pack("<HH", 2, 0)), room=9, what="VQ_GET 2")
    assert got == b"\x00" + struct.pack("<II", 77, 99), f"{now()}: VQ_GET after VQ_SET answered {got.hex()}"
    await tb.cmd(0, c(6, 3, struct.pack("<HH", 2, 0)), room=4, what="VQ_GET, no room")
    await tb.cmd(0, c(9, 0), what="unknown class")
    await tb.cmd(0, c(1, 0, mac_table(macs(rnd, 50, False), [])), what="oversize (306 bytes)")
    await tb.cmd(2, c(0, 0, b"\x01"), what="not a net function")
    st = tb.host.stats()
    assert st["oversize"] == 1 and st["served"] == tb.commands, st
    await tb.finish()


@cocotb.test()
async def test_random_commands(dut):
    """Seeded random commands (valid and not) on both net functions, with resets and re-enables between."""
    tb = TB(dut)
    await tb.start()
    rnd = tb.rnd
    await tb.negotiate(0)
    await tb.negotiate(1, ALL & ~(1 << N.CTRL_RX_EXTRA) & ~(1 << N.VQ_NOTF_COAL))
    for step in range(30):
        f = rnd.randrange(2)
        kind = rnd.randrange(12)
        if kind == 0:
            await tb.device_reset(f, then_ack=rnd.random() < 0.5)
            await tb.check_state(f, f"step {step}: after reset")
            await tb.negotiate(f, ALL if f == 0 else ALL & ~(1 << N.CTRL_RX_EXTRA))
            continue
        if kind == 1:
            vq = rnd.randrange(tb.nq[f] - 1)
            await tb.set_qen(f, tb.qen[f] & ~(1 << vq))
            await tb.set_qen(f, tb.qen[f] | 1 << vq)
            await tb.check_state(f, f"step {step}: after re-enable of vq {vq}")
            continue
        klass = rnd.choice([0, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7])
        command = rnd.randrange(5)
        data = {
            0: lambda: bytes([rnd.randrange(2)]),
            1: lambda: (mac_table(macs(rnd, rnd.randrange(4), False), macs(rnd, rnd.randrange(4), True))
                        if command == 0 else rnd.randbytes(rnd.choice([6, 6, 5]))),
            2: lambda: struct.pack("<H", rnd.choice([1, 33, 100, 4095, 4096])),
            3: lambda: b"",
            4: lambda: struct.pack("<H", rnd.randrange(5)),
            5: lambda: struct.pack("<Q", rnd.choice([0, 2, 1 << 7])),
            6: lambda: (struct.pack("<HHII", rnd.randrange(8), 0, rnd.getrandbits(16), rnd.getrandbits(16))
                        if command == 2 else struct.pack("<HH", rnd.randrange(8), 0) if command == 3
                        else struct.pack("<II", rnd.getrandbits(16), rnd.getrandbits(16))),
            7: lambda: b"",
        }[klass]()
        await tb.cmd(f, c(klass, command, data), room=rnd.choice([1, 9, 16]), what=f"step {step}")
    await tb.finish()


@cocotb.test()
async def test_reset_rescan(dut):
    """Device status 0 -> the firmware resets the function: coalescing 0, MAC restored, filters cleared."""
    tb = TB(dut)
    await tb.start()
    await tb.negotiate(0)
    await tb.negotiate(1)
    await tb.cmd(0, c(6, 0, struct.pack("<II", 5, 6)), what="TX_SET")
    await tb.cmd(0, c(6, 2, struct.pack("<HHII", 0, 0, 7, 8)), what="VQ_SET 0")
    await tb.cmd(0, c(1, 1, MAC1), what="MAC ADDR_SET")
    await tb.cmd(0, c(2, 0, struct.pack("<H", 5)), what="VLAN ADD 5")
    await tb.cmd(0, c(1, 0, mac_table([MAC0], [])), what="MAC TABLE_SET")
    await tb.cmd(1, c(6, 1, struct.pack("<II", 1, 2)), what="fn 1 RX_SET")
    await tb.device_reset(0)
    await tb.check_state(0, "after status 0")
    await tb.check_state(1, "fn 1 after fn 0's reset")
    assert tb._field("net_mac", 0, 48) == int.from_bytes(MAC0, "big")
    # a reset the firmware sees only as "status back at ACKNOWLEDGE"
    await tb.negotiate(0)
    await tb.cmd(0, c(6, 1, struct.pack("<II", 9, 9)), what="RX_SET")
    tb.host.mmio_delay_cycles = 50       # slow the firmware so status 0 and ACK land in one scan
    await tb.device_reset(0, then_ack=True)
    tb.host.mmio_delay_cycles = 0
    await tb.check_state(0, "after status 0 -> ACK")
    assert tb.host.stats()["resets"] == 2, tb.host.stats()
    await tb.finish()


@cocotb.test()
async def test_queue_reenable_revert(dut):
    """A vq disabled and re-enabled reverts to the last TX_SET/RX_SET values (the VQ_SET is dropped)."""
    tb = TB(dut)
    await tb.start()
    await tb.negotiate(0)
    await tb.cmd(0, c(6, 0, struct.pack("<II", 3, 4)), what="TX_SET")
    await tb.cmd(0, c(6, 1, struct.pack("<II", 10, 11)), what="RX_SET")
    await tb.cmd(0, c(6, 2, struct.pack("<HHII", 1, 0, 50, 60)), what="VQ_SET 1")
    await tb.cmd(0, c(6, 2, struct.pack("<HHII", 4, 0, 70, 80)), what="VQ_SET 4")
    await tb.set_qen(0, tb.qen[0] & ~(1 << 1))
    await tb.cmd(0, c(6, 3, struct.pack("<HH", 1, 0)), room=9, what="VQ_GET of a disabled vq")
    await tb.set_qen(0, tb.qen[0] | 1 << 1)
    await tb.check_state(0, "after re-enable of vq 1")
    assert tb.models[0].coalescing(1) == CoalescingParams(3, 4)
    got = await tb.cmd(0, c(6, 3, struct.pack("<HH", 1, 0)), room=9, what="VQ_GET 1 after re-enable")
    assert got == b"\x00" + struct.pack("<II", 3, 4), f"{now()}: VQ_GET 1 answered {got.hex()}"
    await tb.finish()


@cocotb.test()
async def test_link_change(dut):
    """vio_fw_set_link (run in the firmware thread) reaches net_status through FUNC_APPLY."""
    tb = TB(dut)
    await tb.start()
    for f, up in ((1, 1), (0, 0), (0, 1), (1, 0)):
        await tb.host.call(lambda lib, fw, f=f, up=up: lib.vio_fw_set_link(fw, f, up))
        m = tb.models[f]
        m.config.status = (m.config.status & ~NetStatus.LINK_UP) | (NetStatus.LINK_UP if up else 0)
        await tb.settle()
        await tb.check_state(f, f"after set_link({f}, {up})")
    await tb.finish()


@cocotb.test()
async def test_mailbox_timeout(dut):
    """CTRLQ_TIMEOUT small + a slow firmware: the engine answers ERR; the firmware does not answer late, recovers."""
    tb = TB(dut, ctrlq_timeout_us=2)
    await tb.start()
    assert int(dut.mb_timeout_us.value) == 2, f"{now()}: mb_timeout_us {int(dut.mb_timeout_us.value)}"
    await tb.negotiate(0)
    await tb.cmd(0, c(6, 2, struct.pack("<HHII", 0, 0, 1, 2)), what="VQ_SET 0 (fast firmware)")
    tb.host.mmio_delay_cycles = 60       # ~64 cycles per access: a command needs > 500 cycles
    got, timed_out = await tb.mailbox(0, c(6, 3, struct.pack("<HH", 0, 0)), 9)
    assert timed_out and got == b"\x01", f"{now()}: slow firmware: timed_out {timed_out}, answer {got.hex()}"
    await tb.settle()
    tb.host.mmio_delay_cycles = 0
    late = [d for d in tb.done_log if not d[2]]
    assert not late, (f"{now()}: fn 0 queue {tb.nq[0] - 1}: the firmware answered the timed-out VQ_GET late "
                      f"(mb_done with mb_valid low at {late})\n{tb.host.trace()}")
    st = tb.host.stats()
    assert st["timeouts"] == 1 and st["stale"] + st["served"] >= 1, \
        f"{now()}: fn 0: firmware counted {st['timeouts']} CTRLQ_TIMEOUT events, expected 1 ({st})"
    dut._log.info(f"after the timeout: {st}")
    # the next command is served normally
    got = await tb.cmd(0, c(6, 3, struct.pack("<HH", 0, 0)), room=9, what="VQ_GET after the timeout")
    assert got == b"\x00" + struct.pack("<II", 1, 2)
    await tb.finish()
