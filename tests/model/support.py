"""Helpers shared by the golden-model tests (not collected by pytest)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from pymodel.memory import SparseMemory

#: Hypothesis settings for every property test: derandomized (deterministic in
#: CI, independent of --seed), no per-example deadline, bounded example count.
MODEL_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class RecordingMemory(SparseMemory):
    """SparseMemory that logs every write as (addr, bytes) in order."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[int, bytes]] = []

    def write(self, addr: int, data: bytes) -> None:
        self.writes.append((addr, bytes(data)))
        super().write(addr, data)


from dataclasses import dataclass, field  # noqa: E402
from typing import Callable, Union  # noqa: E402

from pymodel.common_cfg import Reg  # noqa: E402
from pymodel.function import Region  # noqa: E402
from pymodel.memory import BumpAllocator  # noqa: E402
from pymodel.packed_driver import PackedRingDriver  # noqa: E402
from pymodel.split_driver import SplitRingDriver  # noqa: E402

RegWrite = Callable[[Region, int, int, int], object]
RegRead = Callable[[Region, int, int], int]


@dataclass
class DriverSide:
    """A minimal virtio-pci driver for tests: runs §1.2 and sets up queues."""

    read: RegRead
    write: RegWrite
    mem: SparseMemory
    alloc: BumpAllocator = field(default_factory=lambda: BumpAllocator(base=0x100_0000))
    rings: dict[int, Union[PackedRingDriver, SplitRingDriver]] = field(default_factory=dict)

    def negotiate(self, features: int) -> int:
        """Steps 1-6; returns the status read back."""
        self.write(Region.COMMON, Reg.DEVICE_STATUS, 1, 0)
        self.write(Region.COMMON, Reg.DEVICE_STATUS, 1, 1)
        self.write(Region.COMMON, Reg.DEVICE_STATUS, 1, 3)
        for sel in range(3):
            self.write(Region.COMMON, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            self.write(Region.COMMON, Reg.DRIVER_FEATURE, 4, (features >> (32 * sel)) & 0xFFFF_FFFF)
        self.write(Region.COMMON, Reg.DEVICE_STATUS, 1, 0x0B)
        return self.read(Region.COMMON, Reg.DEVICE_STATUS, 1)

    def setup_queue(self, vq: int, size: int, packed: bool, event_idx: bool = False,
                    vector: int = 0xFFFF) -> Union[PackedRingDriver, SplitRingDriver]:
        self.write(Region.COMMON, Reg.QUEUE_SELECT, 2, vq)
        self.write(Region.COMMON, Reg.QUEUE_SIZE, 2, size)
        if packed:
            desc, drv, dev = self.alloc.alloc(16 * size, 16), self.alloc.alloc(4, 4), self.alloc.alloc(4, 4)
            ring: Union[PackedRingDriver, SplitRingDriver] = PackedRingDriver(
                self.mem, size, desc, drv, dev, event_idx=event_idx)
        else:
            desc, drv, dev = (self.alloc.alloc(16 * size, 16), self.alloc.alloc(6 + 2 * size, 2),
                              self.alloc.alloc(6 + 8 * size, 4))
            ring = SplitRingDriver(self.mem, size, desc, drv, dev, event_idx=event_idx)
        self.write(Region.COMMON, Reg.QUEUE_DESC_LO, 8, desc)
        self.write(Region.COMMON, Reg.QUEUE_DRIVER_LO, 8, drv)
        self.write(Region.COMMON, Reg.QUEUE_DEVICE_LO, 8, dev)
        self.write(Region.COMMON, Reg.QUEUE_MSIX_VECTOR, 2, vector)
        self.write(Region.COMMON, Reg.QUEUE_ENABLE, 2, 1)
        self.rings[vq] = ring
        return ring

    def driver_ok(self) -> None:
        self.write(Region.COMMON, Reg.DEVICE_STATUS, 1, 0x0F)
