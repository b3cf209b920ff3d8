# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
export PROCTOR_FACE_DATA ?= $(abspath ../shared/data/faces)

.PHONY: run test lint setup fixtures models

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	$(BIN)/pip install --quiet --no-deps face-recognition==1.3.0
	# MediaPipe's face detection and mesh models (Apache-2.0) ship inside its wheel; only
	# the .tflite files are used (sha256 in models/registry.toml), run on ai-edge-litert.
	# --no-deps: mediapipe's own pins (numpy<2, protobuf<5, jax, opencv-contrib) are for
	# its graph runtime, which the service does not load.
	$(BIN)/pip install --quiet --no-deps mediapipe==0.10.21 ai-edge-litert==2.3.0
	touch $(STAMP)

setup: $(STAMP)

fixtures: $(STAMP)
	$(BIN)/python -m proctor.fixtures_setup

# The ONNX fast path, translated locally from the installed dlib weights (no download).
models: $(STAMP)
	$(BIN)/proctor models build

run: fixtures models
	mkdir -p -m 700 var
	@if [ "$${PROCTOR_DEV_TOKEN_ENDPOINT:-true}" = "true" ]; then \
	  echo "!!! WARNING: the dev token endpoint POST /v1/dev/tokens is ON: anyone who reaches" >&2; \
	  echo "!!! 127.0.0.1:8000 can mint ADMIN tokens. Demo only; PROCTOR_DEV_TOKEN_ENDPOINT=false turns it off." >&2; fi
	PROCTOR_DATA_DIR=var PROCTOR_SEED_DEMO=true \
	PROCTOR_DEV_TOKEN_ENDPOINT=$${PROCTOR_DEV_TOKEN_ENDPOINT:-true} \
	PROCTOR_NOTIFY_SENDER=$${PROCTOR_NOTIFY_SENDER:-file} \
	PROCTOR_TOKEN_SECRET=$${PROCTOR_TOKEN_SECRET:-dev-only-secret-change-me-0123456789} \
	$(BIN)/proctor serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check proctor api tests
	$(BIN)/ruff format --check proctor api tests
	$(BIN)/mypy
	$(BIN)/lint-imports

test: fixtures models lint
	$(BIN)/python -m pytest -q --durations=15 $(PYTEST_ARGS)
