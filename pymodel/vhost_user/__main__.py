"""Run pymodel as a vhost-user device until interrupted.

    python -m pymodel.vhost_user blk --socket /tmp/blk.sock --image disk.img
    python -m pymodel.vhost_user net --socket /tmp/net.sock [--peer-ip 192.0.2.2]

then point QEMU (``-chardev socket,path=...`` with ``vhost-user-blk-pci`` or
``-netdev vhost-user``) or DPDK (``--vdev net_virtio_user0,path=...``) at
the socket.  The net device's wire side answers ARP and ping for
``--peer-ip`` when given (needs scapy); otherwise it only counts frames.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ..disk import Disk
from .blk_device import VhostBlkDevice
from .device import VhostDevice
from .model_device import VhostModelDevice
from .net_device import VhostNetDevice
from .server import VhostUserServer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pymodel.vhost_user", description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("blk", "net"))
    ap.add_argument("--socket", required=True, help="unix socket path to listen on")
    ap.add_argument("--image", help="blk: disk image file (created if missing)")
    ap.add_argument("--size-mb", type=int, default=16, help="blk: size of a new image")
    ap.add_argument("--peer-ip", help="net: answer ARP/ICMP for this address on the wire side")
    ap.add_argument("--thin", action="store_true",
                    help="thin adapter (rings + blk/net rules) instead of the whole pymodel Device")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose, format="%(asctime)s %(message)s")

    device: VhostDevice
    if args.kind == "blk":
        if not args.image:
            ap.error("blk needs --image")
        disk = Disk(args.size_mb * 2048, path=args.image)
        device = VhostBlkDevice(disk) if args.thin else VhostModelDevice.blk(disk)
    else:
        net = VhostNetDevice() if args.thin else VhostModelDevice.net()
        if args.peer_ip:
            from .responder import ArpIcmpResponder

            ArpIcmpResponder(net, args.peer_ip)
        device = net
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with VhostUserServer(args.socket, device) as srv:
        print(f"serving {args.kind} on {srv.path}; Ctrl-C to stop", flush=True)
        done.wait()
    if args.kind == "net":
        print(getattr(device, "counters", ""))
    else:
        print(dict(getattr(device, "counts", {})))
        disk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
