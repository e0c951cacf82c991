# Every target builds .venv from the project's own files first: `make demo` only what the
# embedded default needs (the core and the demo's picture), `make test` the test set on top.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.core-installed
STAMP := $(VENV)/.installed

.PHONY: install demo test quick bench clean

install: $(STAMP)

$(CORE): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $(CORE)

$(STAMP): $(CORE)
	# torch first, pinned to the CPU build this machine keeps on disk: left to a range, pip
	# would fetch a multi-GB CUDA build. The package itself only asks for torch>=2.1.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev,torch,onnx,ray]"
	# xtcocotools' wheels break with numpy 2: build it from source (tests that compare with it
	# skip when it is missing).
	$(BIN)/python -m pip install --quiet cython
	$(BIN)/python -m pip install --quiet --no-binary xtcocotools --no-build-isolation \
		xtcocotools || echo "warning: xtcocotools did not build; its comparison tests will skip"
	touch $(STAMP)

demo: $(CORE)
	$(BIN)/python examples/demo.py --outdir out/demo

test: $(STAMP)
	$(BIN)/python -m ruff check src tests bench examples tracking_scenes
	$(BIN)/python -m pytest -q

# the suite without the tests marked slow (Ray, Chromium, DDP, real-data training, exports)
quick: $(STAMP)
	$(BIN)/python -m ruff check src tests bench examples tracking_scenes
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) out
