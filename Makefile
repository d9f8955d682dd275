# mcl_mm — the two set-up commands are `make demo` (main job) and `make test` (test suite).
PYTHON := .venv/bin/python

.PHONY: install demo test test-fast

install:
	bash tools/install.sh

demo: install
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

test: install
	$(PYTHON) -m pytest tests -v -ra

test-fast: install
	$(PYTHON) -m pytest tests -v -ra -m "not slow"
