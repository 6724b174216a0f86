# One command to set up and test, one to set up and run the main job.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: test test-slow lint docs demo bench venv clean wheel-check

$(STAMP): pyproject.toml
	@set -e; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then \
	  rm -rf $(VENV); \
	  PYBIN=$$(bash scripts/find_python.sh); \
	  echo "creating $(VENV) with $$PYBIN"; \
	  $$PYBIN -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e ".[test,data,docs]"; \
	touch $(STAMP)

venv: $(STAMP)

# notebooks for the site: executed copies from tests/test_notebooks.py where newer, else the sources
NOTEBOOKS_FOR_DOCS = mkdir -p build/notebooks && cp -u notebooks/*.ipynb build/notebooks/

# the layer contract and ruff (make lint), the unit tests, every notebook top to bottom in
# FAST mode (tests/test_notebooks.py), and the documentation site (strict) with the executed notebooks
# JAX's persistent compilation cache: the two workers and the notebook kernels compile many
# identical programs (every test builds its own model, so jit's in-memory cache misses);
# measured on test_calibration + test_criticism: 220 s without, 154 s with a cold cache
JAX_CACHE := JAX_COMPILATION_CACHE_DIR=$(CURDIR)/build/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.2

test: $(STAMP) lint
	$(JAX_CACHE) BAYES_MFG_FAST=1 $(PY) -m pytest -n 2 --durations=15 tests $(PYTEST_ARGS)
	$(NOTEBOOKS_FOR_DOCS)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet -d build/site
	$(PY) scripts/check_site.py build/site

# the import-linter layer contract and ruff (configured in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check bayes_mfg tests benchmarks experiments
	$(VENV)/bin/lint-imports --no-cache

docs: $(STAMP)
	$(NOTEBOOKS_FOR_DOCS)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict -d build/site
	$(PY) scripts/check_site.py build/site

test-slow: $(STAMP)
	$(JAX_CACHE) $(PY) -m pytest -m slow -n 2 $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m bayes_mfg.demo

# pip install of the built wheel into a fresh venv, used from an empty folder (run by .ci/run)
wheel-check:
	bash scripts/check_wheel.sh

bench: $(STAMP)
	$(PY) -m benchmarks.equilibrium

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info outputs
