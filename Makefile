# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint clean bench fuzz soak

# pip's output goes to a log and is shown only when the install fails, so `make run` prints just the bot.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Setting up $(VENV) (first run only)..." >&2
	@$(BIN)/python -m pip install --disable-pip-version-check --upgrade pip > $(VENV)/install.log 2>&1 \
		&& $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]' >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log >&2; echo "make: installing dependencies failed (log above)" >&2; exit 1; }
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/pledgebot run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# The full benchmark at 100,000 pledges, then this checkout against the commit before the redesign in one
# interleaved run; writes BENCHMARKS.md. (The test suite runs a tiny smoke of the first.)
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.compare

# Long profiles of the reliability suite; `make test` runs the same tests with their fast profile.
fuzz: $(STAMP)
	PLEDGEBOT_PROFILE=long $(BIN)/pytest -m fuzz

soak: $(STAMP)
	PLEDGEBOT_PROFILE=long $(BIN)/pytest -m soak

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info
