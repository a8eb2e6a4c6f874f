# Two commands do all the set-up on a fresh machine:
#   make demo   -- builds .venv and runs the main job
#   make test   -- builds .venv and runs the whole test suite (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench fixtures clean

setup: $(STAMP)

# torch==2.13.0 first: on this machine it is a local CPU wheel; a bare `torch`
# would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0" -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/python -m scrapl_edu.demo --out out/demo

test: setup
	$(BIN)/python -m ruff check scrapl_edu tests benchmarks tools
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

bench: setup
	$(BIN)/python benchmarks/bench_jtfs.py

fixtures:
	bash tools/build_reference_env.sh
	.venv-ref/bin/python tools/make_reference_fixtures.py

clean:
	rm -rf $(VENV) out
