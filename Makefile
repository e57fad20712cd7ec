# Set-up is part of every target: a fresh machine needs nothing but python3.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PIP     := $(BIN)/pip install -q -c constraints.txt
export OMP_NUM_THREADS ?= 1

.PHONY: setup wordnet demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -e '.[dev,compress]'
	touch $(STAMP)

setup: $(STAMP) wordnet

## WordNet for text augmentation (offline: Debian's packages copied for NLTK); fast when done.
wordnet: $(STAMP)
	$(BIN)/python -m initreg.regularize.wordnet_setup

## The main job: every lecture claim, quick settings, table + HTML report in lab-out/.
demo: $(STAMP)
	$(BIN)/initreg lab --quick --out lab-out

## The whole test suite.
test: $(STAMP) wordnet
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check initreg tests bench

## Speed benchmarks (ratios, one process each) -> BENCHMARKS.md. Lightning comes from the bench extra.
bench: $(STAMP)
	$(BIN)/python -c 'import lightning' 2>/dev/null || $(PIP) -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) lab-out runs .pytest_cache
