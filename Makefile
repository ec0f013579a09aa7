# The README's two commands are `make run` and `make test`; both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp

.PHONY: install run test lint typecheck bench clean

install: $(STAMP)

# Re-installs only when the project's metadata changed; running it twice is a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d vault/translations --statistics 2>/dev/null || $(BIN)/pybabel compile -d vault/translations

run: install translations
	$(BIN)/flask --app wsgi db-upgrade-if-embedded 2>/dev/null || true
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

test: install translations
	bash scripts/test-prerequisites
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crypto storage vault

bench: install
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/crypto_stream.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
