"""Linux 6.1's virtio_blk driving pymodel's Device (a blk function) over vhost-user."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import pytest

from pymodel.disk import Disk
from pymodel.features import DeviceType, Transport, feature_name
from pymodel.vhost_user import VhostUserServer
from pymodel.vhost_user.model_device import VhostModelDevice

from .blk_scenario import feature_bits, make_scenario
from .guest import GuestImage, run_guest

pytestmark = pytest.mark.hil


def blk_devices(sock: str, packed: str) -> list[str]:
    """QEMU arguments for one vhost-user-blk-pci device on ``sock``."""
    return ["-chardev", f"socket,id=char0,path={sock}",
            "-device", f"vhost-user-blk-pci,chardev=char0,num-queues=1,packed={packed}"]


@pytest.mark.parametrize("packed", ["on", "off"])
def test_linux_blk_read_write_flush(
    packed: str, guest_image: GuestImage, workdir: Path, serve: Callable[..., VhostUserServer]
) -> None:
    sc = make_scenario(workdir / "disk.img")
    disk = Disk(path=sc.image)
    dev = VhostModelDevice.blk(disk)
    srv = serve(dev)
    res = run_guest(guest_image, workdir, sc.script, blk_devices(srv.path, packed), files=sc.files)

    feats = res.marker("FEATURES")
    bits = feature_bits(feats)
    names = ", ".join(feature_name(DeviceType.BLK, b) for b in sorted(bits))
    print(f"guest negotiated (packed={packed}): {feats} = {names}")
    print(f"boot {res.boot_s:.1f} s, scenario done {res.total_s:.1f} s; requests {dict(dev.counts)}")

    assert (Transport.RING_PACKED in bits) == (packed == "on"), f"RING_PACKED with packed={packed}: {names}"
    assert Transport.EVENT_IDX in bits, f"EVENT_IDX not negotiated: {names}"
    assert res.marker("SECTORS") == str(len(sc.initial) // 512), "capacity seen by the guest"
    assert res.marker("SHA_BEFORE") == sc.sha_before, "guest's checksum of the whole disk != image's"
    assert res.marker("DD_RC") == "0", "guest dd of the pattern failed"
    assert res.marker("SHA_REGION") == sc.sha_region, "pattern read back by the guest differs"
    assert res.marker("SHA_AFTER") == sc.sha_after, "guest's checksum after the write differs"
    # the guest flushed: the data must be in the image file without closing the disk
    on_disk = sc.image.read_bytes()
    got = on_disk[sc.offset : sc.offset + len(sc.pattern)]
    assert got == sc.pattern, "pattern not in the image file after the guest's flush"
    assert hashlib.sha256(on_disk).hexdigest() == sc.sha_after, "image differs outside the pattern"
    assert dev.counts["FLUSH"] >= 1, f"no FLUSH request reached the device: {dict(dev.counts)}"
    assert dev.bytes_written >= len(sc.pattern), f"only {dev.bytes_written} bytes written"
    assert dev.bytes_read >= 2 * len(sc.initial), f"guest read only {dev.bytes_read} bytes"
    assert not disk.volatile, f"{len(disk.volatile)} sectors still volatile after the flush"
    assert dev.refused is None and dev.config_interrupts == 0, "model refused features or needed a reset"
    disk.close()
