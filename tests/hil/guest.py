"""A Linux 6.1 guest in QEMU (TCG) whose virtio devices are vhost-user ones.

Recipe from hil.md: Debian's ``linux-image-6.1`` package (downloaded with
``apt-get download``, unpacked with ``dpkg-deb``), the ELF ``vmlinux``
extracted from the XZ ``vmlinuz`` and booted through qboot's PVH entry,
an initramfs of static busybox + the virtio modules + an ``/init`` that
runs the test's script and powers off.  Kernel and base initramfs are built
once into ``$BUILD_DIR/hil/guest``; each run appends its own small cpio
archive (``/test.sh`` and data files) to the base one.

The guest reports results as console lines ``HIL:key=value``.
"""

from __future__ import annotations

import gzip
import io
import lzma
import re
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .env import QBOOT
from .proc import Proc

__all__ = ["GuestImage", "GuestResult", "build_guest", "start_guest", "run_guest", "newc_archive", "MODULES"]

#: Load order that works (hil.md).
MODULES = (
    "virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci "
    "virtio_blk failover net_failover virtio_net"
).split()
XZ_MAGIC = b"\xfd7zXZ\x00"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /lib/modules/$m.ko || echo "HIL:INSMOD_FAILED=$m"; done
echo HIL:BOOTED
sh /test.sh
echo "HIL:RC=$?"
echo HIL:DONE
poweroff -f
"""


@dataclass(frozen=True)
class GuestImage:
    """Cached guest kernel (ELF, PVH bootable) and base initramfs."""

    vmlinux: Path
    initramfs: Path
    kernel_version: str


# -- cpio ------------------------------------------------------------------------------------


def newc_archive(entries: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A cpio ``newc`` archive of (path, mode, data) entries (dirs: mode 0o040755)."""
    out = io.BytesIO()
    ino = 1000

    def put(name: str, mode: int, data: bytes) -> None:
        nonlocal ino
        ino += 1
        nb = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + nb)
        out.write(b"\0" * (-(110 + len(nb)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))

    for name, mode, data in entries:
        put(name, mode, data)
    put("TRAILER!!!", 0, b"")
    return out.getvalue()


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=1, mtime=0)


# -- kernel --------------------------------------------------------------------------------------


def _kernel_package(cache: Path) -> str:
    """``linux-image-6.1.0-N-amd64``: what ``linux-image-amd64`` depends on."""
    for attempt in range(2):
        r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True)
        m = re.search(r"Depends: (linux-image-6\.1\.\S+-amd64)", r.stdout)
        if m:
            return m.group(1)
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
    raise RuntimeError(f"apt-cache cannot resolve linux-image-amd64 to a 6.1 kernel:\n{r.stdout}{r.stderr}")


def _download_deb(cache: Path) -> Path:
    debs = sorted(cache.glob("linux-image-6.1*.deb"))
    if debs:
        return debs[-1]
    pkg = _kernel_package(cache)
    r = subprocess.run(["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True, timeout=600)
    debs = sorted(cache.glob("linux-image-6.1*.deb"))
    if r.returncode or not debs:
        raise RuntimeError(f"apt-get download {pkg} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return debs[-1]


def _unpack(deb: Path) -> tuple[bytes, dict[str, bytes], str]:
    """vmlinuz and the needed modules, streamed out of ``dpkg-deb --fsys-tarfile``."""
    want = {f"{m}.ko" for m in MODULES}
    p = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert p.stdout is not None
    vmlinuz = b""
    version = ""
    mods: dict[str, bytes] = {}
    with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
        for ti in tar:
            base = ti.name.rsplit("/", 1)[-1]
            if not ti.isfile():
                continue
            if re.fullmatch(r"vmlinuz-.*", base) and "/boot/" in "/" + ti.name.lstrip("./"):
                vmlinuz = tar.extractfile(ti).read()  # type: ignore[union-attr]
                version = base[len("vmlinuz-") :]
            elif base in want and "/kernel/" in ti.name:
                mods[base[:-3]] = tar.extractfile(ti).read()  # type: ignore[union-attr]
    p.wait()
    missing = [m for m in MODULES if m not in mods]
    if not vmlinuz or missing:
        raise RuntimeError(f"{deb.name}: vmlinuz {'found' if vmlinuz else 'missing'}, missing modules {missing}")
    return vmlinuz, mods, version


def extract_vmlinux(vmlinuz: bytes) -> bytes:
    """The ELF kernel inside an XZ-compressed bzImage (hil.md's fast boot)."""
    pos = vmlinuz.find(XZ_MAGIC)
    while pos >= 0:
        try:
            elf = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(vmlinuz[pos:])
            if elf[:4] == b"\x7fELF":
                return elf
        except lzma.LZMAError:
            pass
        pos = vmlinuz.find(XZ_MAGIC, pos + 1)
    raise RuntimeError("no XZ-compressed ELF found in vmlinuz")


def build_guest(cache: Path) -> GuestImage:
    """Download, unpack and cache the guest kernel and base initramfs (idempotent)."""
    gdir = cache / "guest"
    gdir.mkdir(parents=True, exist_ok=True)
    vmlinux, initramfs, ver_file = gdir / "vmlinux", gdir / "base.cpio.gz", gdir / "version"
    if vmlinux.exists() and initramfs.exists() and ver_file.exists():
        return GuestImage(vmlinux, initramfs, ver_file.read_text().strip())
    deb = _download_deb(gdir)
    try:
        vmlinuz, mods, version = _unpack(deb)
    except (tarfile.TarError, OSError, RuntimeError) as e:
        deb.unlink()  # a damaged download is not kept for the next run
        raise RuntimeError(f"cannot unpack {deb.name}: {e}") from e
    busybox = Path("/bin/busybox").read_bytes()
    entries: list[tuple[str, int, bytes]] = [(d, 0o040755, b"") for d in
                                             ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules")]
    entries += [("bin/busybox", 0o100755, busybox),
                ("init", 0o100755, INIT.format(modules=" ".join(MODULES)).encode())]
    entries += [(f"lib/modules/{m}.ko", 0o100644, mods[m]) for m in MODULES]
    tmp = initramfs.with_suffix(".tmp")
    tmp.write_bytes(_gz(newc_archive(entries)))
    tmp.rename(initramfs)
    tmp = vmlinux.with_suffix(".tmp")
    tmp.write_bytes(extract_vmlinux(vmlinuz))
    tmp.rename(vmlinux)
    ver_file.write_text(version + "\n")
    deb.unlink()  # 70 MB; vmlinux and the initramfs are all that is needed
    return GuestImage(vmlinux, initramfs, version)


# -- running ---------------------------------------------------------------------------------------


@dataclass
class GuestResult:
    """What a guest run printed."""

    lines: list[str]
    markers: dict[str, str] = field(default_factory=dict)
    boot_s: float = 0.0  # QEMU start -> HIL:BOOTED
    total_s: float = 0.0  # QEMU start -> HIL:DONE
    log: Optional[Path] = None

    def marker(self, key: str) -> str:
        """Value of ``HIL:key=...``; a readable failure if the guest never said it."""
        if key not in self.markers:
            raise AssertionError(f"guest printed no HIL:{key}=...; log {self.log}; last lines:\n"
                                 + "\n".join(self.lines[-30:]))
        return self.markers[key]


def start_guest(
    image: GuestImage,
    workdir: Path,
    script: str,
    devices: Sequence[str],
    *,
    files: Mapping[str, bytes] = {},
    name: str = "guest",
    timeout: float = 90.0,
    mem_mb: int = 512,
) -> Proc:
    """Start QEMU on the guest with ``devices`` (QEMU args) running ``script``.

    The returned process has a hard kill timer of ``timeout`` s; the caller
    closes it (which kills it by PID if it is still running).
    """
    extra = [("test.sh", 0o100755, script.encode())] + [(k, 0o100644, v) for k, v in files.items()]
    initrd = workdir / f"{name}.cpio.gz"
    initrd.write_bytes(image.initramfs.read_bytes() + _gz(newc_archive(extra)))
    argv = [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic",
        "-serial", "stdio", "-monitor", "none",
        "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", f"{mem_mb}M",
        "-object", f"memory-backend-memfd,id=mem,size={mem_mb}M,share=on", "-numa", "node,memdev=mem",
        "-bios", str(QBOOT), "-kernel", str(image.vmlinux), "-initrd", str(initrd),
        "-append", "console=ttyS0 panic=-1 loglevel=4", "-no-reboot",
        *devices,
    ]
    return Proc(argv, workdir / f"{name}.log", deadline=timeout)


def run_guest(
    image: GuestImage,
    workdir: Path,
    script: str,
    devices: Sequence[str],
    *,
    files: Mapping[str, bytes] = {},
    name: str = "guest",
    timeout: float = 90.0,
    mem_mb: int = 512,
) -> GuestResult:
    """Boot the guest, run ``script`` to its end, collect the ``HIL:`` markers.

    QEMU is killed by its PID at the end of the run whatever happened (and
    by its hard timer after ``timeout`` s).
    """
    t0 = time.monotonic()
    proc = start_guest(image, workdir, script, devices, files=files, name=name, timeout=timeout, mem_mb=mem_mb)
    try:
        proc.wait_for(r"HIL:BOOTED", timeout)
        boot = time.monotonic() - t0
        proc.wait_for(r"HIL:DONE", max(1.0, timeout - (time.monotonic() - t0)))
        total = time.monotonic() - t0
        proc.wait(5)  # poweroff -f; killed below if it did not exit
    finally:
        proc.close()
    markers: dict[str, str] = {}
    for line in proc.lines:
        m = re.search(r"HIL:([A-Za-z0-9_]+)=(.*)$", line)
        if m:
            markers[m.group(1)] = m.group(2).strip()
    return GuestResult(proc.lines, markers, boot, total, proc.log_path)
