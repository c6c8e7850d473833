"""Linux 6.1's virtio_net driving pymodel's Device (a net function) over vhost-user.

The guest configures an address and pings a host on the device's wire side
(:class:`pymodel.vhost_user.responder.ArpIcmpResponder`, scapy): every
echo request must be answered and counted on both ends.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from pymodel.features import DeviceType, NetFeature, Transport, feature_name
from pymodel.vhost_user import VhostUserServer
from pymodel.vhost_user.model_device import VhostModelDevice
from pymodel.vhost_user.responder import ArpIcmpResponder

from .blk_scenario import feature_bits
from .guest import GuestImage, run_guest

pytestmark = pytest.mark.hil

GUEST_IP = "192.0.2.1"  # TEST-NET-1: exists only on the simulated wire
PEER_IP = "192.0.2.2"
GUEST_MAC = "52:54:00:12:34:56"
#: (count, ICMP payload size): a small ping and one whose reply needs > 1 KiB
PINGS = ((5, 56), (3, 1400))

SCRIPT = f"""
ip link set lo up
ip link set eth0 up
ip addr add {GUEST_IP}/24 dev eth0
echo HIL:FEATURES=$(cat /sys/class/net/eth0/device/features)
""" + "".join(
    f"""
ping -c {n} -s {size} -i 0.2 -W 3 {PEER_IP} > /tmp/ping{i}.txt 2>&1
echo HIL:PING{i}_RC=$?
echo HIL:PING{i}=$(grep 'packets transmitted' /tmp/ping{i}.txt)
"""
    for i, (n, size) in enumerate(PINGS)
)


def net_devices(sock: str, packed: str) -> list[str]:
    """QEMU arguments for virtio-net-pci on a vhost-user netdev.

    ``vectors=0`` (INTx): QEMU 7.2 under TCG segfaults in
    ``msix_set_vector_notifiers`` (called from ``vhost_net_start``) when
    the driver sets DRIVER_OK on a vhost-user net device with MSI-X, before
    any ring message reaches the back-end (with or without the control vq).
    vhost-user-blk is not affected and keeps MSI-X.
    """
    return ["-chardev", f"socket,id=char0,path={sock}",
            "-netdev", "vhost-user,id=net0,chardev=char0,queues=1",
            "-device", f"virtio-net-pci,netdev=net0,packed={packed},mac={GUEST_MAC},vectors=0"]


@pytest.mark.parametrize("packed", ["on", "off"])
def test_linux_net_ping(
    packed: str, guest_image: GuestImage, workdir: Path, serve: Callable[..., VhostUserServer]
) -> None:
    dev = VhostModelDevice.net()
    peer = ArpIcmpResponder(dev, PEER_IP)
    srv = serve(dev)
    res = run_guest(guest_image, workdir, SCRIPT, net_devices(srv.path, packed), timeout=120)

    bits = feature_bits(res.marker("FEATURES"))
    names = ", ".join(feature_name(DeviceType.NET, b) for b in sorted(bits))
    print(f"guest negotiated (packed={packed}): {res.marker('FEATURES')} = {names}")
    print(f"wire: {dev.counters}; responder: {peer.counters}")
    assert (Transport.RING_PACKED in bits) == (packed == "on"), f"RING_PACKED with packed={packed}: {names}"
    assert NetFeature.MRG_RXBUF in bits, f"MRG_RXBUF not negotiated: {names}"

    total = 0
    for i, (n, size) in enumerate(PINGS):
        line = res.marker(f"PING{i}")
        m = re.search(r"(\d+) packets transmitted, (\d+) packets received", line)
        assert m, f"ping {i}: no summary: {line!r}"
        sent, got = int(m.group(1)), int(m.group(2))
        assert (sent, got) == (n, n), f"ping -c {n} -s {size}: {sent} sent, {got} answered"
        assert res.marker(f"PING{i}_RC") == "0"
        total += n
    c = peer.counters
    assert c.echo_requests == total, f"responder saw {c.echo_requests} echo requests, guest sent {total}"
    assert c.echo_replies == total
    assert sorted(c.echo_bytes) == sorted(s for n, s in PINGS for _ in range(n)), "ICMP payload sizes"
    assert c.arp_requests >= 1, "the guest never resolved the peer"
    assert dev.counters.rx_packets >= total + c.arp_requests, f"replies not delivered: {dev.counters}"
    assert dev.rx_pending == 0, f"{dev.rx_pending} replies never reached the guest"
