"""What the real-driver tests need from the machine, and how to get it.

Everything comes from Debian packages (hil.md).  :func:`ensure_tools`
installs them when running as root, otherwise reports the exact command to
run; :func:`build_dir` is where the guest kernel, initramfs and scratch
files are cached (``$BUILD_DIR/hil``, default ``build/hil``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

__all__ = [
    "APT_PACKAGES",
    "INSTALL_CMD",
    "REQUIRED_TOOLS",
    "ToolCheck",
    "build_dir",
    "missing_tools",
    "ensure_tools",
    "in_ci",
    "file_lock",
    "QBOOT",
]

REPO = Path(__file__).resolve().parents[2]
APT_PACKAGES = ("qemu-system-x86", "busybox-static", "cpio", "kmod", "dpdk-dev")
INSTALL_CMD = "apt-get update && apt-get install -y " + " ".join(APT_PACKAGES)
QBOOT = Path("/usr/share/qemu/qboot.rom")
#: executable -> package that provides it
REQUIRED_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-storage-daemon": "qemu-system-x86",
    "busybox": "busybox-static",
    "dpdk-testpmd": "dpdk-dev",
    "dpkg-deb": "dpkg",
    "apt-get": "apt",
}


def in_ci() -> bool:
    """CI=true: a missing tool is a failure, not a skip."""
    return os.environ.get("CI", "").lower() == "true"


def build_dir() -> Path:
    """``$BUILD_DIR/hil`` (relative paths are taken from the repository root)."""
    base = Path(os.environ.get("BUILD_DIR") or "build")
    if not base.is_absolute():
        base = REPO / base
    out = base / "hil"
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Hold ``$BUILD_DIR/hil/<name>.lock`` (flock): serialises pytest-xdist workers,
    so only one of them installs packages, builds the guest or runs QEMU/DPDK."""
    with open(build_dir() / f"{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def missing_tools() -> list[str]:
    """Executables (and files) that are not there."""
    out = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if not QBOOT.exists():
        out.append(str(QBOOT))
    return out


@dataclass(frozen=True)
class ToolCheck:
    """Outcome of :func:`ensure_tools`: ``problem`` is None when all is there."""

    problem: Optional[str]
    log: str = ""


def ensure_tools() -> ToolCheck:
    """Install the packages if they are missing and we are root.

    ``apt-get update`` runs once, and only when something is missing.
    """
    missing = missing_tools()
    if not missing:
        return ToolCheck(None)
    if os.geteuid() != 0:
        return ToolCheck(f"missing {', '.join(missing)}; install with: sudo sh -c '{INSTALL_CMD}'")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log = ""
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *APT_PACKAGES]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        log += f"$ {' '.join(cmd)}\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        if r.returncode:
            return ToolCheck(f"`{' '.join(cmd)}` failed with exit code {r.returncode}", log)
    missing = missing_tools()
    if missing:
        return ToolCheck(f"still missing after install: {', '.join(missing)}", log)
    return ToolCheck(None, log)
