# virtio offload bench — every entry point. `make help` lists them.
#
# Knobs (each is also a pytest option of the same name, see tests/conftest.py):
#   SEED=N        seed for every random test (default: fresh, printed)
#   TEST=GLOB     run only tests whose name matches (comma list of globs)
#   WAVES=1       write a waveform per RTL test and print its path
#   SIM=verilator simulator (verilator; icarus is a second opinion, not default)
#   SIM_ARGS=...  extra arguments for the simulator executable
#   JOBS=2        parallel pytest workers
#   SHARD=I/N     run only shard I of N (simulation farms; ci/merge_junit.py joins results)
#   PYTEST_ARGS=  anything else for pytest (e.g. -x, -vv)
#   BUILD_DIR=build  where builds, results and waves go

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BUILD_DIR ?= build
SEED ?=
TEST ?=
WAVES ?= 0
SIM ?= verilator
SIM_ARGS ?=
SHARD ?=
JOBS ?= 2
PYTEST_ARGS ?=

PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
RUN := $(PY) ci/run_tests.py --jobs $(JOBS)

export SEED TEST WAVES SIM SIM_ARGS SHARD BUILD_DIR

.PHONY: help venv sim test regress lint waves bench bench-dma mutate regs clean distclean

help:
	@echo "make sim      build the RTL with Verilator and run the default RTL regression"
	@echo "make test     everything CI runs (model + RTL + firmware + real-driver tests)"
	@echo "make regress  everything, including tests marked slow"
	@echo "make lint     Verilator lint, -Wall, every module"
	@echo "make waves TEST=<name>   run one test with waveforms, print the file"
	@echo "make bench    benchmarks: DMA throughput (simulated Gbps vs link, wall MB/s), pymodel vs DPDK vhost packet rate"
	@echo "make mutate   break the RTL on purpose (scratch copies) and check the shell bench catches each break"
	@echo "make regs     regenerate regblock SV, C header, Python constants, docs from hdl/rdl/vio_mgmt.rdl (PeakRDL)"
	@echo "make clean    remove every build product (keeps .venv); distclean also .venv"

$(STAMP): requirements.txt ci/bootstrap.sh
	rm -f $(VENV)/.installed-*
	PYTHON=$(PYTHON) ci/bootstrap.sh $(VENV)
	touch $@

venv: $(STAMP)

sim: $(STAMP)
	$(RUN) --name sim -m "rtl and not slow" -- $(PYTEST_ARGS)

test: $(STAMP)
	$(RUN) --name test -m "not slow and not bench" -- $(PYTEST_ARGS)

regress: $(STAMP)
	$(RUN) --name regress -m "not bench" -- $(PYTEST_ARGS)

lint: $(STAMP)
	PY=$(PY) ci/lint.sh

waves: $(STAMP)
	@test -n "$(TEST)" || { echo "usage: make waves TEST=<test name>"; exit 2; }
	@[ -e /usr/include/lz4.h ] || [ "$$(id -u)" != 0 ] || { echo "installing liblz4-dev (FST writer)"; \
	    apt-get install -y -qq liblz4-dev >/dev/null 2>&1 || true; }
	WAVES=1 $(RUN) --name waves --jobs 1 -m "rtl" -- -s $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) ci/run_bench.py
	$(PY) tests/hil/bench_dpdk.py --seconds 5

mutate: $(STAMP)
	$(PY) ci/mutate.py

regs: $(STAMP)
	$(PY) ci/gen_regs.py

bench-dma: $(STAMP)
	$(PY) ci/run_bench.py

clean:
	rm -rf $(BUILD_DIR) .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	find . -path ./$(VENV) -prune -o -name results.xml -print0 | xargs -0 rm -f

distclean: clean
	rm -rf $(VENV)
