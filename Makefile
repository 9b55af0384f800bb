# `make run`: set up and serve the embedded demo. `make test`: set up and run every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest bench clean

# pip's own chatter goes to a log, shown only when the install fails.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	@echo "installing the exporter and its test tools into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install -c requirements.lock -e '.[test]' > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m exporter serve --demo

test: $(STAMP)
	@for script in scripts/setup/*.sh; do [ -e "$$script" ] || continue; echo "== $$script"; bash "$$script" || exit 1; done
	$(MAKE) --no-print-directory lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check exporter tests scripts bench
	$(VENV)/bin/ruff format --check exporter tests scripts bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-agent .venv-deploy .tools .pytest_cache .mypy_cache .ruff_cache
