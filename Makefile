# The README's two commands: `make run` and `make test`. Both create the virtualenv and install.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast demo bench faults lint typecheck check clean stop help

# Test modules run in parallel processes (pytest-xdist), a module's tests in one process, in the
# order collected: the fault suite (tests/faults, collected first) starts at once in its own
# process while the others share the rest.
PYTEST_WORKERS ?= 4
PARALLEL := -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder

help:
	@echo "make run    - start everything (local PostgreSQL + Redis if no URLs) and show records flowing"
	@echo "make test   - run the test suite (uses 127.0.0.1 PostgreSQL/Redis when reachable, else embedded)"
	@echo "make test-fast - everything but the fault suite (the inner loop)"
	@echo "make bench  - manage.py bench --records 20000"
	@echo "make faults - the fault suite alone; writes docs/reliability.md"
	@echo "make check  - ruff + mypy"
	@echo "make stop   - stop the local servers started by make run"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py run

demo: $(STAMP)
	$(PY) manage.py demo --duration 30

# A base temp dir of the run's own: pytest's default (/tmp/pytest-of-USER) keeps only the last
# three runs' dirs, so another pytest on the same machine deletes a running suite's servers.
test: $(STAMP) check
	$(PY) -m pytest $(PARALLEL) --basetemp=$$(mktemp -d /tmp/syncsvc-test-XXXXXX) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadscope -m "not faults" $(PYTEST_ARGS)

faults: $(STAMP)
	SYNCSVC_RELIABILITY_REPORT=docs/reliability.md SYNCSVC_RELIABILITY_COMMAND="make faults" \
		$(PY) -m pytest -n 2 --dist loadscope tests/faults $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) manage.py bench --records 20000

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck

stop: $(STAMP)
	$(PY) manage.py servers stop

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
