# Two commands do all the set-up on a fresh machine:
#   make demo   -- builds .venv and runs the main job
#   make test   -- builds .venv (and a headless browser) and runs every test (what CI runs)
#   make docs   -- the documentation site, student and instructor editions, in docs/_build/
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test unit notebooks browser lint bench fixtures lab dashboard sync-notebooks clean \
	exercises book docs docs-fast wheel grade-check course notebooks-classroom

setup: $(STAMP)

# torch==2.13.0 first: on this machine it is a local CPU wheel; a bare `torch`
# would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0" -e ".[dev]"
	touch $(STAMP)

# the main job: the JTFS of a chirp (figure), then the classroom comparison
# (MSS vs full JTFS vs SCRAPL vs P-loss on randomly shifted chirplets, Table 1 in small)
demo: setup
	$(BIN)/python -m scrapl_edu.demo --out out/demo
	$(BIN)/python -m scrapl_edu.lab compare --table losses --preset classroom --seeds 0 \
		--jobs 2 --row-arg "jtfs=--max-wall-s 90" --out out/demo/compare --overwrite

test: setup
	bash tools/install_browser.sh
	$(MAKE) lint docs-fast unit notebooks browser grade-check

# ruff (lint and format: a file ruff would reformat fails), then the layering of the package
# (import-linter contracts in pyproject.toml)
PY_SOURCES := scrapl_edu tests benchmarks tools notebooks experiments docs/conf.py docs/_ext setup.py
lint: setup
	$(BIN)/python -m ruff check $(PY_SOURCES)
	$(BIN)/python -m ruff format --check $(PY_SOURCES)
	$(BIN)/lint-imports

unit: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests --ignore=tests/browser

# every notebook, top to bottom, in fast mode (SCRAPL_EDU_FAST=1); one thread per kernel:
# two kernels with a thread per core each oversubscribe two cores (runs took 1.5-7 min).
# --durations=0 prints each notebook's time, so a slow or stalled one is named in the log
notebooks: setup
	SCRAPL_EDU_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --nbmake --durations=0 notebooks

# every notebook in classroom mode (the real sizes; long: see docs/instructor_guide.md for the
# measured time); run by hand or on a schedule, not in CI
notebooks-classroom: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --nbmake --nbmake-timeout=3600 notebooks

# real-browser tests; SCRAPL_EDU_SCREENSHOTS=1 also refreshes docs/screenshots/
browser: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests/browser

# the sound-matching lab notebook as a classroom dashboard on http://127.0.0.1:8866
dashboard: setup
	$(BIN)/voila notebooks/08_sound_matching_lab.ipynb --port 8866 --no-browser \
		--Voila.ip=127.0.0.1 --VoilaConfiguration.extension_denylist="['jupyterlab-jupytext']"

# the student edition: every notebook with its answers removed (nbgrader's ClearSolutions)
exercises: setup
	$(BIN)/python tools/make_exercises.py --out exercises

# the documentation site (Sphinx + myst-nb, from the jupytext sources; docs/conf.py): the
# student edition (answers removed; the one to publish) and the instructor edition, Sphinx
# warnings as errors. Classroom mode; SCRAPL_EDU_FAST=1 for fast mode (what CI builds). The
# notebooks are executed once per mode (docs/_build/.jupyter_cache) and shared by both editions.
SPHINX := OMP_NUM_THREADS=1 $(BIN)/python -m sphinx -E -W --keep-going -q -b html
docs: setup
	SCRAPL_EDU_EDITION=student $(SPHINX) -d docs/_build/.doctrees/student docs docs/_build/student
	SCRAPL_EDU_EDITION=instructor $(SPHINX) -d docs/_build/.doctrees/instructor docs docs/_build/instructor
	@echo "the site: docs/_build/student/index.html (instructors: docs/_build/instructor/)"

docs-fast: setup
	SCRAPL_EDU_FAST=1 $(MAKE) docs

# the former read-only edition: now the site's student edition (book/ points at it)
book: docs
	ln -sfn docs/_build/student book

# the wheel (the library, the lab and the course notebooks as package data) in dist/
wheel: setup
	$(BIN)/pip wheel -q --no-deps --no-build-isolation -w dist .

# the nbgrader course (nbgrader_config.py): course/source/<assignment> from the notebooks
course: setup
	$(BIN)/python tools/make_course.py source

# the nbgrader course grades itself: release generated, the solution edition autograded to full
# marks and the blank student edition to zero on every auto-graded cell (fast mode, offline)
grade-check: setup
	$(BIN)/python tools/make_course.py check --jobs 2

sync-notebooks: setup
	$(BIN)/jupytext --sync notebooks/*.py
	$(BIN)/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/*.ipynb

bench: setup
	$(BIN)/python benchmarks/bench_jtfs.py
	$(BIN)/python benchmarks/path_vs_full.py

fixtures:
	bash tools/build_reference_env.sh
	.venv-ref/bin/python tools/make_reference_fixtures.py

clean:
	rm -rf $(VENV) out
