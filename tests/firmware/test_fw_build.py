"""Both firmware builds (firmware/Makefile): host shared library and freestanding ELF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.firmware.fw_lib import API, FIRMWARE, build, load

pytestmark = pytest.mark.firmware


def _make(target: str, out: Path) -> subprocess.CompletedProcess[str]:
    res = build(target, out)
    assert res.returncode == 0, f"make {target} failed:\n{res.stdout}\n{res.stderr}"
    return res


def _undefined(path: Path) -> list[str]:
    return subprocess.run(["nm", "-u", str(path)], capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fw_build")


def test_host_library_builds_and_exports_the_api(out: Path) -> None:
    res = _make("host", out)
    so = out / "libvio_fw.so"
    assert so.read_bytes()[:4] == b"\x7fELF"
    assert "-fPIC" in res.stdout and "-shared" in res.stdout
    for flag in ("-Wall", "-Wextra", "-Werror", "-std=c11"):
        assert flag in res.stdout
    dyn = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in dyn.stdout.splitlines() if " T " in line}
    assert set(API) <= exported, set(API) - exported
    assert not any(s.startswith("vio_") and s not in API for s in exported), "internal helpers leak"
    lib = load(so)
    assert lib.vio_fw_sizeof() > 0
    # nothing is written into the source tree
    assert not list(FIRMWARE.rglob("*.o")) and not list(FIRMWARE.rglob("*.so"))


def test_freestanding_elf_has_no_undefined_symbols(out: Path) -> None:
    res = _make("freestanding", out)
    elf = out / "vio_fw.elf"
    raw = elf.read_bytes()
    assert raw[:4] == b"\x7fELF" and int.from_bytes(raw[16:18], "little") == 2  # ET_EXEC: static, not PIE
    for flag in ("-ffreestanding", "-nostdlib", "-fno-builtin", "-static"):
        assert flag in res.stdout
    assert _undefined(elf) == []
    hdr = subprocess.run(["readelf", "-l", str(elf)], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in hdr and "DYNAMIC" not in hdr
    syms = subprocess.run(["nm", str(elf)], capture_output=True, text=True, check=True).stdout
    for fn in ("_start", "vio_fw_ctrl", "vio_fw_init", "vio_fw_provision", "hal_irq_wait"):
        assert f" {fn}\n" in syms


def test_incremental_rebuild_is_a_no_op(out: Path) -> None:
    _make("all", out)
    res = _make("all", out)
    assert " -c " not in res.stdout, res.stdout


@pytest.mark.parametrize("ref", ["strong", "weak"])
def test_freestanding_build_refuses_libc(tmp_path: Path, ref: str) -> None:
    """A libc call in the core fails the freestanding build (link error, or the `nm -u` check for weak refs)."""
    src = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, src, ignore=shutil.ignore_patterns("*.o", "*.d"))
    attr = "__attribute__((weak)) " if ref == "weak" else ""
    (src / "src" / "uses_libc.c").write_text(
        "#include <stddef.h>\n"
        f"{attr}void *malloc(size_t n);\n"
        "void *vio_uses_libc(void);\n"
        "void *vio_uses_libc(void) { return malloc(16); }\n"
    )
    mk = (src / "Makefile").read_text()
    (src / "Makefile").write_text(mk.replace("$(SRC_DIR)/rt_freestanding.c", "$(SRC_DIR)/rt_freestanding.c $(SRC_DIR)/uses_libc.c"))
    res = subprocess.run(["make", "-C", str(src), "freestanding", f"O={tmp_path / 'out'}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert not (tmp_path / "out" / "vio_fw.elf").exists()
    if ref == "weak":
        assert "undefined symbols" in res.stdout and "malloc" in res.stdout


def test_output_dir_is_overridable(tmp_path: Path) -> None:
    res = subprocess.run(["make", "-C", str(FIRMWARE), "all", f"O={tmp_path}/x/y"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "x/y/libvio_fw.so").exists() and (tmp_path / "x/y/vio_fw.elf").exists()
