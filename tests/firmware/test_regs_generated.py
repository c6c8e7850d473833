"""The files generated from the management-port register map (hdl/rdl/vio_mgmt.rdl) are current.

DESIGN.md decision 6: the SV register block, the C header the firmware includes,
the bench's Python constants and the register document all come from one SystemRDL
source through ``ci/gen_regs.py``. This test regenerates them in memory and fails,
listing the stale files, when any committed copy differs (fix: ``make regs``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.firmware

ROOT = Path(__file__).resolve().parents[2]


def test_generated_register_files_are_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "ci" / "gen_regs.py"), "--check", "--diff"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, (
        f"ci/gen_regs.py --check failed (exit {proc.returncode}); run `make regs`\n"
        f"{proc.stdout[-6000:]}{proc.stderr[-3000:]}"
    )


def test_python_constants_match_the_map():
    """Spot checks of the names firmware and bench are written against."""
    from tb.mgmt import regs

    assert regs.ID_OFFSET == 0x000 and regs.ID_VALUE_RESET == 0x564D4731
    assert regs.IRQ_STATUS_OFFSET == 0x010 and regs.IRQ_STATUS_CTRLQ_TIMEOUT_MASK == 0x4
    assert regs.CTRLQ_STATUS_FUNC_SHIFT == 8 and regs.CTRLQ_STATUS_QUEUE_WIDTH == 16
    assert regs.CTRLQ_TIMEOUT_US_RESET == 1000
    assert regs.FILTER_SEL_INDEX_MASK == 0x00FF0000
    assert (regs.CMD_DATA_OFFSET, regs.CMD_DATA_COUNT, regs.CMD_DATA_STRIDE) == (0x100, 64, 4)
    assert (regs.RSP_DATA_OFFSET, regs.RSP_DATA_COUNT) == (0x200, 64)
    offsets = [r.addr(i) for r in regs.REGISTERS for i in range(r.count)]
    assert offsets == sorted(set(offsets)) and offsets[-1] + 4 == regs.ADDRMAP_SIZE
    done = regs.REGISTER["CTRLQ_DONE"].field("DONE")
    assert done.singlepulse and done.sw == "w"


def test_c_header_agrees_with_python_constants(tmp_path):
    """The C header (peakrdl-cheader) and tb/mgmt/regs.py give every register the same
    offset and every field the same mask/position/reset; the header compiles as C11
    freestanding with -Wall -Wextra -Werror."""
    import shutil

    from tb.mgmt import regs

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    lines = ["#include <stddef.h>", '#include "vio_mgmt_regs.h"']
    for r in regs.REGISTERS:
        lines.append(f"_Static_assert(offsetof(vio_mgmt_t, {r.name}) == {r.offset:#x}u, \"{r.name} offset\");")
        if r.is_array:
            lines.append(f"_Static_assert(sizeof(((vio_mgmt_t *)0)->{r.name}) == {r.count * r.stride}u, "
                         f"\"{r.name} size\");")
        for f in r.fields:
            m = f"VIO_MGMT__{r.name}__{f.name}"
            lines.append(f"_Static_assert({m}_bm == {f.mask:#x}u && {m}_bp == {f.lsb} && {m}_bw == {f.width}, "
                         f"\"{r.name}.{f.name}\");")
            if f.reset is not None:
                lines.append(f"_Static_assert({m}_reset == {f.reset:#x}u, \"{r.name}.{f.name} reset\");")
    lines.append(f"_Static_assert(sizeof(vio_mgmt_t) == {regs.ADDRMAP_SIZE:#x}u, \"size\");")
    src = tmp_path / "regs_check.c"
    src.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [cc, "-std=c11", "-ffreestanding", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
         "-I", str(ROOT / "firmware" / "include"), str(src)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
