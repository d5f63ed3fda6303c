# One task runner for people and CI (.ci/run calls the same targets).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= var
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install system-deps serve test lint bench bench-queue bench-fuzz clean

# Debian packages the hall needs at run time and in tests (ffmpeg for recordings, chromium for
# the browser tests); skipped when already installed.
system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && command -v chromium >/dev/null || \
	  { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq ffmpeg chromium; }

$(BIN)/hall: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev]'
	@touch $(BIN)/hall

install: system-deps $(BIN)/hall

serve: install
	$(BIN)/hall serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

test: install
	$(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/visit_cpu.py

bench-queue: install
	$(BIN)/python bench/queue_bench.py

# 20,000 fuzzed HTTP requests over every route and 100,000 signaling frames; last line
# fuzz.server_errors=<n>. FUZZ_ARGS="--bodies 2000 --frames 5000 --seed 1" for a short run.
bench-fuzz: install
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) $(DATA) *.egg-info
