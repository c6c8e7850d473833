"""DPDK's virtio driver (net_virtio_user in testpmd) against pymodel's Device (net function).

TX: ``start tx_first B`` makes testpmd's txonly engine send exactly B bursts
of ``BURST`` packets of ``TX_LEN`` bytes (the generator's own config).  B x
BURST is less than the ring, so nothing may be dropped however slow the
device is; ``TX_ROUNDS`` such rounds wrap the ring several times.  The
wire must see exactly that many frames and bytes, and agree with testpmd's
counters.
RX: the test injects ``RX_COUNT`` frames on the wire side while testpmd
runs rxonly; the driver must count exactly that many packets and bytes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from pymodel.features import NetFeature, Transport
from pymodel.vhost_user import VhostUserServer
from pymodel.vhost_user.model_device import VhostModelDevice
from pymodel.vhost_user.net_device import NetCounters, VhostNetDevice

from .testpmd import TestPmd, virtio_user_vdev

pytestmark = pytest.mark.hil

BURST = 32
QUEUE_SIZE = 256
TX_BURSTS = 7  # 224 packets per round: fits the 256-entry ring
TX_ROUNDS = 4  # 896 packets: the ring wraps 3 times
TX_LEN = 100
RX_COUNT = 1000
RX_LEN = 128


def rx_frames(n: int, length: int) -> list[bytes]:
    """``n`` distinct UDP frames of ``length`` bytes (sequence number in the payload)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    base = Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(src="198.18.1.2", dst="198.18.1.1") / UDP(
        sport=4000, dport=4001)
    pad = length - len(base)
    return [bytes(base / Raw(i.to_bytes(4, "big") + bytes(pad - 4))) for i in range(n)]


def wait_until(cond: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s: {what()}")
        time.sleep(0.05)


def exact_traffic(dev: VhostNetDevice | VhostModelDevice, srv: VhostUserServer, workdir: Path, packed: bool,
                  name: str = "testpmd") -> None:
    """One testpmd session: exact TX rounds, exact RX injection, all counters checked.

    ``dev``'s counters are reset first, so it can be called after earlier sessions.
    """
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    dev.counters = NetCounters()
    dev.wire_frames.clear()
    pmd = TestPmd(workdir, virtio_user_vdev(srv.path, packed, QUEUE_SIZE), name=name,
                  args=["--forward-mode=rxonly", f"--txpkts={TX_LEN}", f"--burst={BURST}"])
    try:
        negotiated = dev.features
        assert bool(negotiated >> Transport.RING_PACKED & 1) == packed, f"features {negotiated:#x}"
        assert negotiated >> NetFeature.MRG_RXBUF & 1, f"features {negotiated:#x}"
        t0 = time.monotonic()
        dropped = 0
        for r in range(1, TX_ROUNDS + 1):
            pmd.cmd(f"start tx_first {TX_BURSTS}")
            wait_until(lambda: dev.counters.tx_packets >= r * TX_BURSTS * BURST, 60,
                       lambda: f"round {r}: wire saw {dev.counters}")
            dropped += pmd.stop().get("TX-dropped", -1)
        want = TX_ROUNDS * TX_BURSTS * BURST
        tx_s = time.monotonic() - t0
        tx_port = pmd.port_stats()
        pmd.cmd("start")

        frames = rx_frames(RX_COUNT, RX_LEN)
        t0 = time.monotonic()
        dev.inject(frames)
        wait_until(lambda: dev.counters.rx_packets >= RX_COUNT, 60, lambda: f"delivered {dev.counters}")
        time.sleep(0.5)  # let the rxonly lcore poll the last used descriptors
        rx_s = time.monotonic() - t0
        fwd = pmd.stop()
        port = pmd.port_stats()
    finally:
        rc = pmd.close()
    print(f"packed={packed}: {want} TX frames in {tx_s:.2f} s, {RX_COUNT} RX frames in {rx_s:.2f} s; "
          f"features {negotiated:#x}; testpmd forward stats {fwd}; port stats {port}")

    c = dev.counters
    assert dropped == 0, f"testpmd dropped {dropped} TX packets (or printed no statistics)"
    assert tx_port.get("TX-packets") == want, f"testpmd sent {tx_port.get('TX-packets')}, configured {want}"
    assert (c.tx_packets, c.tx_bytes) == (want, want * TX_LEN), f"wire: {c}, expected {want} x {TX_LEN} B"
    assert c.tx_dropped == 0
    assert all(len(f) == TX_LEN for f in dev.wire_frames)
    first = Ether(dev.wire_frames[0])
    assert UDP in first and IP in first, f"txonly frame is not Ether/IP/UDP: {first.summary()}"
    assert IP(bytes(first[IP])).chksum == first[IP].chksum, "IPv4 header checksum wrong on the wire"

    assert (c.rx_packets, c.rx_bytes) == (RX_COUNT, RX_COUNT * RX_LEN), f"device delivered {c}"
    assert dev.rx_pending == 0
    assert fwd.get("RX-packets") == RX_COUNT, f"driver received {fwd.get('RX-packets')}, injected {RX_COUNT}"
    assert port.get("RX-bytes") == RX_COUNT * RX_LEN, f"driver RX-bytes {port.get('RX-bytes')}"
    assert port.get("TX-bytes") == want * TX_LEN, f"driver TX-bytes {port.get('TX-bytes')}"
    assert rc == 0, f"testpmd exit code {rc}"
    trace = srv.last_session.trace if srv.last_session else []
    assert trace.count("GET_VRING_BASE") == 2, f"driver did not stop both rings cleanly: {trace}"


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "split"])
def test_dpdk_txonly_and_rx(
    packed: bool, hil_tools: None, workdir: Path, serve: Callable[..., VhostUserServer]
) -> None:
    dev = VhostModelDevice.net(keep_frames=True)
    exact_traffic(dev, serve(dev), workdir, packed)
