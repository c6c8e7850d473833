"""Differential: the same guest script against qemu-storage-daemon and against pymodel.

qemu-storage-daemon offers no RING_PACKED (hil.md), so all run split rings.
pymodel runs twice: as the whole :class:`pymodel.device.Device` and as the
thin blk adapter (:class:`~pymodel.vhost_user.blk_device.VhostBlkDevice`).
Every checksum the guest prints, and the final image, must agree -- and
agree with what the test computed itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from pymodel.disk import Disk
from pymodel.features import Transport
from pymodel.vhost_user import VhostUserServer
from pymodel.vhost_user.blk_device import VhostBlkDevice
from pymodel.vhost_user.model_device import VhostModelDevice

from .blk_scenario import feature_bits, make_scenario
from .guest import GuestImage, GuestResult, run_guest
from .proc import Proc
from .test_blk_linux import blk_devices

pytestmark = pytest.mark.hil

KEYS = ("SECTORS", "SHA_BEFORE", "DD_RC", "SHA_REGION", "SHA_AFTER")


def run_with_qsd(guest_image: GuestImage, workdir: Path, sockdir: Path) -> tuple[GuestResult, bytes]:
    sc = make_scenario(workdir / "qsd.img")
    sock = sockdir / "qsd.sock"
    qsd = Proc([
        "qemu-storage-daemon",
        "--blockdev", f"driver=file,node-name=file0,filename={sc.image}",
        "--blockdev", "driver=raw,node-name=disk0,file=file0",
        "--export", f"type=vhost-user-blk,id=exp0,addr.type=unix,addr.path={sock},node-name=disk0,"
                    "writable=on,num-queues=1",
    ], workdir / "qsd.log", deadline=120)
    try:
        end = time.monotonic() + 10
        while not sock.exists():
            assert qsd.p.poll() is None, f"qemu-storage-daemon exited:\n{qsd.tail()}"
            assert time.monotonic() < end, f"qemu-storage-daemon made no socket:\n{qsd.tail()}"
            time.sleep(0.05)
        res = run_guest(guest_image, workdir, sc.script, blk_devices(str(sock), "on"),
                        files=sc.files, name="guest-qsd")
    finally:
        qsd.close(grace=5)
    return res, sc.image.read_bytes()


def test_differential_vs_qemu_storage_daemon(
    guest_image: GuestImage, workdir: Path, sockdir: Path, serve: Callable[..., VhostUserServer]
) -> None:
    ref, ref_image = run_with_qsd(guest_image, workdir, sockdir)
    ref_bits = feature_bits(ref.marker("FEATURES"))
    assert Transport.RING_PACKED not in ref_bits, "qemu-storage-daemon was expected to run a split ring"
    sc = make_scenario(workdir / "expected.img")
    assert ref.marker("SHA_BEFORE") == sc.sha_before, "reference run read a different disk"
    assert ref.marker("SHA_AFTER") == sc.sha_after, "reference run disagrees with the expected result"

    makers = {"Device": VhostModelDevice.blk, "VhostBlkDevice": VhostBlkDevice}
    for name, make in makers.items():
        sc = make_scenario(workdir / f"{name}.img")
        disk = Disk(path=sc.image)
        srv = serve(make(disk), name=f"{name}.sock")
        ours = run_guest(guest_image, workdir, sc.script, blk_devices(srv.path, "off"),
                         files=sc.files, name=f"guest-{name}")
        disk.close()
        assert Transport.RING_PACKED not in feature_bits(ours.marker("FEATURES"))
        diffs = {k: (ref.marker(k), ours.marker(k)) for k in KEYS if ref.marker(k) != ours.marker(k)}
        assert not diffs, f"guest output differs (qemu-storage-daemon, pymodel {name}): {diffs}"
        ours_image = sc.image.read_bytes()
        if ours_image != ref_image:
            first = next(i for i, (a, b) in enumerate(zip(ours_image, ref_image)) if a != b)
            pytest.fail(f"final images differ (qemu-storage-daemon, pymodel {name}), first at byte {first:#x}")
