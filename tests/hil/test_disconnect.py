"""The back-end survives a front-end that goes away at any point.

* A scripted front-end (:mod:`tests.hil.frontend`) hangs up after every
  step of a complete blk session, and in the middle of every message with a
  payload; after all of that, a complete session still reads the right
  sector, and no fd or mapping of the dead sessions is left behind.
* A Linux guest is SIGKILLed in the middle of reading the disk; a second
  guest then runs the whole blk scenario against the same back-end.
* testpmd is SIGKILLed in the middle of txonly traffic; a second testpmd
  then passes the exact-count traffic check against the same back-end.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Callable

import pytest

from pymodel.disk import Disk
from pymodel.vhost_user import VhostUserServer
from pymodel.vhost_user.blk_device import VhostBlkDevice
from pymodel.vhost_user.model_device import VhostModelDevice

from .blk_scenario import make_scenario
from .frontend import MEMFD_NAME, Frontend
from .guest import GuestImage, run_guest, start_guest
from .test_blk_linux import blk_devices
from .test_net_dpdk import exact_traffic, wait_until
from .testpmd import TestPmd, virtio_user_vdev

pytestmark = pytest.mark.hil


def open_fds() -> set[str]:
    """The fds a vhost-user session can leak: sockets, eventfds and memfds (not files or pipes the test
    process opens for other reasons meanwhile, e.g. pytest or hypothesis in the same worker)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:") or "eventfd" in target or "memfd:" in target:
            out.add(f"{fd} ({target})")
    return out


def frontend_mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(MEMFD_NAME in line for line in f)


def wait_idle(srv: VhostUserServer, sessions: int) -> None:
    wait_until(lambda: srv.sessions == sessions and srv.session is None, 10,
               lambda: f"server: {srv.sessions} sessions, current {srv.session}, drops {srv.disconnects}")


@pytest.mark.parametrize("impl", ["Device", "VhostBlkDevice"])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "split"])
def test_frontend_hangs_up_anywhere(packed: bool, impl: str, serve: Callable[..., VhostUserServer]) -> None:
    image = bytearray(random.Random(7).randbytes(64 * 512))
    disk = Disk(image=image)
    dev = VhostModelDevice.blk(disk) if impl == "Device" else VhostBlkDevice(disk)
    srv = serve(dev)
    fds_before = open_fds()
    probe = Frontend(srv.path, packed=packed)
    n_steps = len(probe.steps(lambda d, n: None))
    probe.close()
    connections = 1
    wait_idle(srv, connections)
    cuts = [(k, False) for k in range(n_steps)]
    cuts += [(k, True) for k, st in enumerate(probe.steps(lambda d, n: None)) if st.partial]

    reads: list[tuple[bytes, int]] = []
    for k, partial in cuts:
        fe = Frontend(srv.path, packed=packed)
        steps = fe.steps(lambda d, n: reads.append((d, n)))
        try:
            for st in steps[:k]:
                st.run()
            if partial:
                steps[k].partial()  # type: ignore[misc]
        finally:
            fe.close()
        connections += 1
        wait_idle(srv, connections)

    # a complete session after all that
    fe = Frontend(srv.path, packed=packed)
    reads.clear()
    try:
        for st in fe.steps(lambda d, n: reads.append((d, n))):
            st.run()
        base = int.from_bytes(fe.replies["base"][4:8], "little")
    finally:
        fe.close()
    wait_idle(srv, connections + 1)

    sector = Frontend.SECTOR
    assert reads == [(bytes(image[sector * 512 : (sector + 1) * 512]), 513)], "read result after reconnects"
    # 1 buffer of 3 descriptors: packed avail/used at slot 3 wrap 1, split avail idx 1
    assert base == ((0x8003 | 0x8003 << 16) if packed else 1), f"GET_VRING_BASE {base:#x}"
    assert srv.sessions == len(cuts) + 2
    assert all(r.startswith(("disconnected", "protocol error")) for r in srv.disconnects), srv.disconnects
    leaked = open_fds() - fds_before
    assert not leaked, f"fds left open after {srv.sessions} sessions: {sorted(leaked)}"
    assert frontend_mappings() == 0, "guest memory of a dead session is still mapped"


@pytest.mark.parametrize("impl", ["Device", "VhostBlkDevice"])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "split"])
def test_ring_stop_and_resume_across_wraps(packed: bool, impl: str, serve: Callable[..., VhostUserServer]) -> None:
    """GET_VRING_BASE / SET_VRING_BASE round trips (packed: wrap bits 15 and 31)."""
    image = bytearray(random.Random(8).randbytes(64 * 512))
    disk = Disk(image=image)
    dev = VhostModelDevice.blk(disk) if impl == "Device" else VhostBlkDevice(disk)
    srv = serve(dev)
    fe = Frontend(srv.path, packed=packed)
    try:
        for st in fe.steps(lambda d, n: None):
            st.run()
        bases = [int.from_bytes(fe.replies["base"][4:8], "little")]
        sector = 0
        for _round in range(4):  # 4 x 3 requests of 3 descriptors on an 8-entry ring: 4+ laps
            assert bases[-1] == fe.driver_base(), f"device base {bases[-1]:#x}, driver {fe.driver_base():#x}"
            fe.resume(bases[-1])
            for _ in range(3):
                sector = (sector + 5) % 64
                data, n = fe.read_sector(sector)
                assert (data, n) == (bytes(image[512 * sector : 512 * (sector + 1)]), 513), f"sector {sector}"
            bases.append(fe.stop())
    finally:
        fe.close()
    assert bases[-1] == fe.driver_base(), f"final base {bases[-1]:#x}, driver {fe.driver_base():#x}"
    if packed:
        wraps = {b >> 15 & 1 for b in bases} | {b >> 31 & 1 for b in bases}
        assert wraps == {0, 1}, f"the test never crossed a wrap: bases {[hex(b) for b in bases]}"


def test_guest_killed_mid_io(guest_image: GuestImage, workdir: Path, serve: Callable[..., VhostUserServer]) -> None:
    sc = make_scenario(workdir / "disk.img")
    disk = Disk(path=sc.image)
    dev = VhostModelDevice.blk(disk)
    srv = serve(dev)
    loop = "while true; do dd if=/dev/vda of=/dev/null bs=65536 iflag=direct 2>/dev/null; done\n"
    victim = start_guest(guest_image, workdir, loop, blk_devices(srv.path, "on"), name="victim", timeout=60)
    try:
        wait_until(lambda: dev.counts["IN"] >= 300, 60, lambda: f"guest reads so far: {dict(dev.counts)}")
    finally:
        victim.kill()
        victim.close()
    wait_idle(srv, 1)
    killed_at = dict(dev.counts)

    res = run_guest(guest_image, workdir, sc.script, blk_devices(srv.path, "on"), files=sc.files)
    print(f"guest killed after {killed_at}; second guest done in {res.total_s:.1f} s")
    assert res.marker("SHA_BEFORE") == sc.sha_before
    assert res.marker("SHA_AFTER") == sc.sha_after
    assert sc.image.read_bytes()[sc.offset : sc.offset + len(sc.pattern)] == sc.pattern
    assert srv.sessions == 2
    disk.close()


def test_testpmd_killed_mid_traffic(hil_tools: None, workdir: Path, serve: Callable[..., VhostUserServer]) -> None:
    dev = VhostModelDevice.net()
    srv = serve(dev)
    victim = TestPmd(workdir, virtio_user_vdev(srv.path, True), name="victim",
                     args=["--forward-mode=txonly"], deadline=60)
    try:
        victim.cmd("start")
        wait_until(lambda: dev.counters.tx_packets >= 2000, 60, lambda: f"wire: {dev.counters}")
    finally:
        victim.proc.kill()
        victim.proc.close()
    wait_idle(srv, 1)
    sent_before = dev.counters.tx_packets
    dev.keep_frames = True
    exact_traffic(dev, srv, workdir, packed=True, name="after-kill")
    print(f"testpmd killed after {sent_before} frames; the next session passed the exact-count check")
    assert srv.sessions == 2
