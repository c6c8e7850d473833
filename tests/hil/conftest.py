"""Fixtures for the real-driver (hil) tests.

* ``hil_tools`` (session): the Debian packages are there, installed now if
  we are root; otherwise the tests skip with the install command -- or fail,
  when ``CI=true``.
* ``guest_image`` (session): the cached Linux 6.1 guest (``$BUILD_DIR/hil``).
* ``workdir``: a fresh directory per test for logs, images and sockets.
* ``serve``: start a :class:`pymodel.vhost_user.VhostUserServer` for the
  test and stop it afterwards, failing the test if the back-end recorded an
  internal error.
* every hil test holds a file lock while it runs: under pytest-xdist only one
  worker at a time boots a guest or runs testpmd (2-core machines).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pymodel.vhost_user import VhostDevice, VhostUserServer

from .env import build_dir, ensure_tools, file_lock, in_ci
from .guest import GuestImage, build_guest


@pytest.fixture(autouse=True)
def one_hil_test_at_a_time() -> Iterator[None]:
    with file_lock("run"):
        yield


@pytest.fixture(scope="session")
def hil_tools() -> None:
    with file_lock("install"):
        check = ensure_tools()
    if check.problem is None:
        return
    if in_ci():
        pytest.fail(f"CI=true and the real-driver tools are not usable: {check.problem}\n{check.log}")
    pytest.skip(check.problem)


@pytest.fixture(scope="session")
def guest_image(hil_tools: None) -> GuestImage:
    try:
        with file_lock("guest"):
            return build_guest(build_dir())
    except (RuntimeError, OSError) as e:
        if in_ci():
            pytest.fail(f"cannot build the guest kernel/initramfs: {e}")
        pytest.skip(f"cannot build the guest kernel/initramfs: {e}")


@pytest.fixture
def workdir(request: pytest.FixtureRequest) -> Path:
    """``$BUILD_DIR/hil/runs/<test>``: logs and images of this test (kept)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    d = build_dir() / "runs" / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A short directory for unix sockets (their paths are limited to 107 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="hil-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def serve(sockdir: Path) -> Iterator[Callable[[VhostDevice], VhostUserServer]]:
    """``serve(device)`` -> a running server on ``sockdir/vhost.sock``."""
    servers: list[VhostUserServer] = []

    def start(device: VhostDevice, name: str = "vhost.sock") -> VhostUserServer:
        srv = VhostUserServer(str(sockdir / name), device).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()
    for srv in servers:
        assert srv.error is None, f"vhost-user loop died: {srv.error!r}"
        assert not srv.internal_errors, f"back-end internal errors: {srv.internal_errors}"
