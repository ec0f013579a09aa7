# The README's two commands are `make run` and `make test`; both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
# In parallel processes, one per core up to four (pytest-xdist, D-205): many
# tests wait on a browser, a server or a subprocess. Tests that share an
# outside resource name an xdist_group, which one process runs whole.
PYTEST_PARALLEL ?= --numprocesses=auto --maxprocesses=4 --dist=loadgroup
PYTEST_ARGS ?= $(PYTEST_PARALLEL) --cov=crypto --cov=vault --cov-branch --cov-report=term-missing:skip-covered
# Coverage floors (package:percent), checked by `make test` after a passing run:
# crypto/ stays at 100 % branch coverage (issue 3); vault/ must not fall below
# the 91 % it had when its floor came (issue 12: 91.95 % measured with CI=true,
# rounded down). pytest-cov's one --cov-fail-under would gate the total only.
COVERAGE_GATES ?= crypto:100 vault:91
# A narrower run (PYTEST_ARGS given) measures too little for the floors.
ifneq ($(origin PYTEST_ARGS),file)
COVERAGE_GATES :=
endif

.PHONY: install translations run test test-fast lint lock bench clean

# The lock files (pip-compile, with hashes): what CI tests is what the image runs.
# requirements/runtime.txt: the image; requirements/dev.txt: the same pins plus
# the tools and test libraries. Refresh them with `make lock` after changing
# pyproject.toml's dependencies (`make lock LOCK_ARGS=--upgrade` to take newer
# releases); commit both.
LOCKS := requirements/runtime.txt requirements/dev.txt
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

install: $(STAMP)

# Re-installs only when the project's metadata or the locks changed; running it
# twice is a no-op. Every package comes from the lock, its hash checked; the
# project itself, with no dependency of its own (--no-deps), is built by the
# locked setuptools (--no-build-isolation). `pip check` then fails when
# pyproject.toml names a dependency the lock lacks: run `make lock`.
$(STAMP): pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "make install: the lock misses a dependency of pyproject.toml: run make lock" >&2; exit 1; }
	touch $(STAMP)

# Needs only pip-tools, so that it works while the lock is behind pyproject.toml.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/pip-compile || $(BIN)/python -m pip install --quiet 'pip-tools>=7.4,<8'
	$(PIP_COMPILE) --output-file requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements/runtime.txt \
		--output-file requirements/dev.txt pyproject.toml

# Compiled catalogues (.mo) are build products, not committed.
translations: install
	$(BIN)/pybabel compile --statistics -d vault/translations

# `accounts first-admin` prints the first administrator's activation code on
# the very first start, and does nothing once an administrator exists.
run: install translations
	$(BIN)/vault db upgrade
	$(BIN)/vault accounts first-admin --quiet
	$(BIN)/vault run --host 127.0.0.1 --port 5000

test: install translations
	bash scripts/test-prerequisites
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status = 5 ]; then echo "make test: pytest collected no test" >&2; fi; \
	  if [ $$status = 0 ]; then for gate in $(COVERAGE_GATES); do \
	    package=$${gate%%:*}; floor=$${gate#*:}; \
	    total=$$($(BIN)/coverage report --include="$$package/*" --format=total); \
	    if $(BIN)/coverage report --include="$$package/*" --fail-under=$$floor >/dev/null; \
	    then echo "make test: $$package/ coverage $$total % (floor $$floor %)"; \
	    else echo "make test: $$package/ coverage $$total % is under its floor of $$floor %" >&2; status=2; fi; \
	  done; fi; exit $$status

# The inner loop: no browser, no slow, no production-image and no fault test, no coverage.
test-fast: install translations
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not browser and not slow and not production and not faults" --no-cov $(PYTEST_FAST_ARGS)

# Lint runs here, not in pytest: a test failure means behaviour. Every check
# runs and any failure fails the target. lint-imports checks the contracts in
# pyproject.toml ([tool.importlinter]: layers, views, services); --no-cache
# leaves no cache folder in the tree. scripts/check_shape.py: no cycles, no
# module over 450 lines, none loose in vault/, no private names across modules.
# scripts/audit_lock.py: pip-audit on the lock (one SKIPPED line when the
# advisory service cannot be reached; a known vulnerability fails).
lint: install
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy crypto storage vault || status=1; \
	$(BIN)/mypy --strict crypto || status=1; \
	$(BIN)/lint-imports --no-cache || status=1; \
	$(BIN)/python scripts/check_shape.py || status=1; \
	$(BIN)/python scripts/audit_lock.py || status=1; \
	exit $$status

bench: install
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/crypto_stream.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/http_transfer.py
	$(BIN)/python bench/previews.py
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
