# Set-up is part of every target: a fresh machine needs nothing but python3.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PIP     := $(BIN)/pip install -q -c constraints.txt
export OMP_NUM_THREADS ?= 1
# dev = every feature extra (lab, tensorboard, mlflow, lightning, hf) + test tools; ray, optuna: the sweep's
# Ray executor and TPE tests
EXTRAS  := dev,compress,ray,optuna
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels)

.PHONY: setup wordnet browser demo test lint bench gpu-check docs clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# uv installs everything in seconds where pip takes about two minutes; pip is the fallback.
	@# torch's CPU wheel comes from this machine's disk (FIND_LINKS); constraints.txt pins it.
	if $(BIN)/pip install -q uv; then \
	  $(BIN)/uv pip install -q --python $(BIN)/python $(FIND_LINKS) -c constraints.txt -e '.[$(EXTRAS)]'; \
	else \
	  $(PIP) -e '.[$(EXTRAS)]'; \
	fi
	touch $(STAMP)

setup: $(STAMP) wordnet

## WordNet for text augmentation (offline: Debian's packages copied for NLTK); fast when done.
wordnet: $(STAMP)
	$(BIN)/python -m initreg.tools.wordnet

## Headless Chromium for the lab report's browser test (Debian's packages: needs apt-get and
## root); where they cannot be installed, the test skips and says why.
browser:
	@command -v chromedriver >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  { apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }; }; } || \
	  echo "browser: chromium not installed (needs apt-get and root); the report's browser test will skip"

## The main job: every lecture claim, quick settings, table + HTML report in lab-out/.
demo: $(STAMP)
	$(BIN)/initreg lab --quick --out lab-out

## The whole test suite.
test: $(STAMP) wordnet browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check initreg tests bench tutorials
	$(BIN)/mypy  # the public API's modules: [tool.mypy] files in pyproject.toml

## Speed benchmarks (ratios, one process each) -> BENCHMARKS.md. Lightning comes with dev.
bench: $(STAMP)
	$(BIN)/python -m bench.run

## On a CUDA machine: fit, bf16, stacked seeds, probe and a few lab claims on the GPU -> BENCHMARKS.md's GPU section.
## Elsewhere it exits 2 with one line; `python -m bench.gpu --dry-run` checks the script on the CPU.
gpu-check: $(STAMP)
	$(BIN)/python -m bench.gpu

## The docs site (MkDocs Material + mkdocstrings + mkdocs-jupyter) -> site/; --strict: a broken link
## or reference fails. The tutorials are executed once into docs/tutorials/*.ipynb (outputs included):
## by `make test` (tests/tutorials) or here, for those older than their source or the package.
docs: $(STAMP)
	$(BIN)/python -c 'import mkdocstrings, mkdocs_jupyter' 2>/dev/null || $(PIP) -e '.[dev,compress,docs]'
	$(BIN)/python tutorials/execute.py --if-stale
	$(BIN)/python -m initreg.lab.docpages docs/lab/results.json docs/lab
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q

clean:
	rm -rf $(VENV) lab-out runs site .pytest_cache
