# mcl_mm — the two set-up commands are `make demo` (main job) and `make test` (test suite).
PYTHON := .venv/bin/python

.PHONY: install demo study test test-fast

install:
	bash tools/install.sh

demo: install
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

# The evidence study (docs/study/): up to 2 h on 2 cores (122 min measured with the cores partly shared); results land in outputs/study and docs/study.
study: install
	$(PYTHON) tools/study.py --out outputs/study --docs docs/study $(STUDY_ARGS)

test: install
	$(PYTHON) -m pytest tests -v -ra

test-fast: install
	$(PYTHON) -m pytest tests -v -ra -m "not slow"
