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

# A test that waits for the wall clock's next minute (marked wall_clock) sleeps most of that minute: it runs
# beside pytest's two workers rather than on one of them, and its output follows theirs.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@log=$$(mktemp); \
	$(BIN)/pytest -m wall_clock -p no:cacheprovider > $$log 2>&1 & beside=$$!; \
	$(BIN)/pytest -n 2 -m "not wall_clock"; rest=$$?; \
	wait $$beside; waited=$$?; \
	echo "== beside them, the tests that wait for the wall clock (pytest -m wall_clock):"; \
	cat $$log; rm -f $$log; \
	[ $$rest -eq 0 ] && [ $$waited -eq 0 ]

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
