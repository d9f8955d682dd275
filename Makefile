# mcl_mm — the two set-up commands are `make demo` (main job) and `make test` (test suite).
PYTHON := .venv/bin/python

.PHONY: install demo study study-transfer test test-fast coverage lint lint-tools format

install:
	bash tools/install.sh

demo: install
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

# The evidence study (docs/study/): independent / DML / MCL on 2 draws of the world x 5 seeds, about 2 h 45 min on
# 2 cores (one draw: STUDY_ARGS="--draws 1 --merge-results docs/study/results.csv", about 85 min);
# results land in outputs/study and docs/study. --skip-finished in STUDY_ARGS resumes an interrupted run.
study: install
	$(PYTHON) tools/study.py --out outputs/study --docs docs/study $(STUDY_ARGS)

# The transfer study (docs/study/transfer/): pretrained members fine-tuned and frozen on VOC detection and
# segmentation, and a linear probe; budgets and seeds in docs/study/transfer/README.md.
study-transfer: install
	$(PYTHON) tools/study.py --transfer --out outputs/study_transfer --docs docs/study/transfer/measurement $(STUDY_ARGS)

# pytest-xdist: one worker per core (at most 4); tool runs are forked from a pre-imported interpreter
# (mcl_mm/experiments/zygote.py). Tests marked `root` mount a small tmpfs; CI runs as root.
PYTEST_PARALLEL := -n auto --maxprocesses=4 --dist worksteal

test: install
	$(PYTHON) -m pytest tests -v -ra $(PYTEST_PARALLEL) --durations=25

test-fast: install
	$(PYTHON) -m pytest tests -v -ra $(PYTEST_PARALLEL) -m "not slow"

# Line coverage of mcl_mm/ and tools/ over the whole suite, tool runs included (coverage's patch = subprocess /
# fork, settings in setup.cfg); data in .coverage-data/, the report on the console.
coverage: install
	rm -rf .coverage-data && mkdir -p .coverage-data
	MCL_MM_COVERAGE_DIR=$(CURDIR)/.coverage-data $(PYTHON) -m coverage run -m pytest tests -q -p no:cacheprovider \
		$(PYTEST_PARALLEL)
	MCL_MM_COVERAGE_DIR=$(CURDIR)/.coverage-data $(PYTHON) -m coverage combine -q
	MCL_MM_COVERAGE_DIR=$(CURDIR)/.coverage-data $(PYTHON) -m coverage report --sort=cover

# Style checks (OpenMMLab's flake8 / isort / yapf / codespell, settings in setup.cfg, 120 columns). The formatters
# are pinned: a different yapf or isort version formats differently. `make format` applies them.
LINT_TOOLS := flake8==7.5.0 isort==9.0.2 yapf==0.43.0 codespell==2.4.3
LINT_PATHS := mcl_mm tools tests benchmarks configs setup.py

lint-tools: install
	$(PYTHON) -m pip install -q $(LINT_TOOLS)

lint: lint-tools
	$(PYTHON) -m flake8 $(LINT_PATHS)
	$(PYTHON) -m isort --check-only --diff $(LINT_PATHS)
	$(PYTHON) -m yapf --recursive --parallel --diff $(LINT_PATHS)
	.venv/bin/codespell $(LINT_PATHS) README.md CHANGELOG.md docs

format: lint-tools
	$(PYTHON) -m isort $(LINT_PATHS)
	$(PYTHON) -m yapf --recursive --parallel --in-place $(LINT_PATHS)
