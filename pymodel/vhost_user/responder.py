"""A host on the device's wire side that answers ARP and ICMP echo (uses scapy).

    dev = VhostNetDevice()
    peer = ArpIcmpResponder(dev, ip="192.0.2.2", mac="02:00:00:00:00:02")

Every frame the driver transmits is parsed; ARP requests for ``ip`` get an
ARP reply, ICMP echo requests to ``ip`` get an echo reply with the same id,
sequence and payload.  Replies are injected into the device's RX path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence


__all__ = ["ArpIcmpResponder", "ResponderCounters", "Wire"]


class Wire(Protocol):
    """The wire side of a net device (:class:`~.net_device.VhostNetDevice`,
    :class:`~.model_device.VhostModelDevice`)."""

    def on_wire(self, listener: Callable[[bytes], None]) -> None: ...

    def inject(self, frames: bytes | Sequence[bytes]) -> None: ...


@dataclass
class ResponderCounters:
    """What the responder saw and answered."""

    frames: int = 0
    arp_requests: int = 0
    echo_requests: int = 0
    echo_replies: int = 0
    echo_bytes: list[int] = field(default_factory=list)  # ICMP payload sizes answered


class ArpIcmpResponder:
    """Answer ARP and ping for ``ip`` on ``device``'s wire."""

    def __init__(self, device: Wire, ip: str, mac: str = "02:00:00:00:00:02") -> None:
        from scapy.layers.inet import ICMP, IP  # noqa: F401  (import cost paid once, here)
        from scapy.layers.l2 import ARP, Ether  # noqa: F401

        self.device = device
        self.ip = ip
        self.mac = mac
        self.counters = ResponderCounters()
        device.on_wire(self.handle)

    def handle(self, frame: bytes) -> None:
        """Look at one transmitted frame; inject the answer if it asks for one."""
        from scapy.layers.inet import ICMP, IP
        from scapy.layers.l2 import ARP, Ether
        from scapy.packet import Raw

        c = self.counters
        c.frames += 1
        pkt = Ether(frame)
        if ARP in pkt:
            a = pkt[ARP]
            if a.op == 1 and a.pdst == self.ip:
                c.arp_requests += 1
                reply = Ether(dst=pkt.src, src=self.mac) / ARP(
                    op=2, hwsrc=self.mac, psrc=self.ip, hwdst=a.hwsrc, pdst=a.psrc
                )
                self.device.inject(bytes(reply))
            return
        if IP in pkt and ICMP in pkt and pkt[IP].dst == self.ip and pkt[ICMP].type == 8:
            ip, icmp = pkt[IP], pkt[ICMP]
            c.echo_requests += 1
            payload = bytes(icmp.payload)
            reply = (
                Ether(dst=pkt.src, src=self.mac)
                / IP(src=self.ip, dst=ip.src, ttl=64)
                / ICMP(type=0, code=0, id=icmp.id, seq=icmp.seq)
                / Raw(payload)
            )
            self.device.inject(bytes(reply))
            c.echo_replies += 1
            c.echo_bytes.append(len(payload))
