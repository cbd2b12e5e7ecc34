# Shortcuts for the usual commands; each is also spelled out in README.md or CONTRIBUTING.md.
PYTHON ?= .venv/bin/python
DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install demo test test-fast lint typecheck bench lock

install:
	python3 -m venv .venv
	$(PYTHON) -m pip install -r requirements-dev.lock
	$(PYTHON) -m pip install --no-deps -e .

demo:
	$(PYTHON) -m twap_pipeline.cli demo

test:
	DATABASE_URL=$(DATABASE_URL) $(PYTHON) -m pytest

test-fast:
	DATABASE_URL=$(DATABASE_URL) $(PYTHON) -m pytest -m "not slow"

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck:
	$(PYTHON) -m mypy

bench:
	DATABASE_URL=$(DATABASE_URL) $(PYTHON) -m benchmarks.ingest
	DATABASE_URL=$(DATABASE_URL) $(PYTHON) -m benchmarks.api

# Re-pin every dependency (runtime, then runtime + dev + demo) in fresh environments.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet .
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^twap' > requirements.lock
	.lock-venv/bin/pip install --quiet ".[dev]"
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^twap' > requirements-dev.lock
	rm -rf .lock-venv
