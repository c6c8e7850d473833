"""vhost-user back-end: real virtio drivers (QEMU guests, DPDK) in front of pymodel.

The transport (:mod:`.protocol`, :mod:`.channel`, :mod:`.guest_memory`,
:mod:`.vring`, :mod:`.session`, :mod:`.server`) is device independent and
serves rings with pymodel's :class:`~pymodel.packed_ring.PackedRingDevice`
and :class:`~pymodel.split_ring.SplitRingDevice`.  Two kinds of device plug
into it (:class:`.device.VhostDevice`):

* :class:`.model_device.VhostModelDevice` -- the whole golden model,
  :class:`pymodel.device.Device` (status machine, feature validation, queue
  setup, blk / net personalities, event suppression, interrupts), driven by
  replaying each vhost-user action as the register writes of a PCI driver;
* :class:`.blk_device.VhostBlkDevice` / :class:`.net_device.VhostNetDevice`
  -- thin adapters: pymodel's rings plus :mod:`pymodel.blk` /
  :mod:`pymodel.net` / :mod:`pymodel.net_rx` request semantics, nothing else.

    from pymodel.disk import Disk
    from pymodel.vhost_user import VhostUserServer, VhostModelDevice
    with VhostUserServer("/tmp/blk.sock", VhostModelDevice.blk(Disk(path="disk.img"))):
        ...  # qemu ... -chardev socket,id=c,path=/tmp/blk.sock -device vhost-user-blk-pci,chardev=c

``python -m pymodel.vhost_user --help`` runs one from the command line.
"""

from .blk_device import VhostBlkDevice
from .device import VhostDevice
from .guest_memory import BadAddress, GuestMemory
from .model_device import VhostModelDevice
from .net_device import VhostNetDevice
from .server import VhostUserServer
from .session import Session
from .vring import Vring

__all__ = [
    "VhostDevice",
    "VhostModelDevice",
    "VhostBlkDevice",
    "VhostNetDevice",
    "VhostUserServer",
    "Session",
    "Vring",
    "GuestMemory",
    "BadAddress",
]
