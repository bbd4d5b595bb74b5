# optvol — the two commands of the README's Quick start, and a few helpers.
#   make demo   create .venv if missing, install, write the sample data if data/raw/ has
#               none, materialize every asset (with its checks) over every quote month, in
#               one run
#   make test   install what the tests need, run pytest
#   make ui     the Dagster UI and daemon on http://127.0.0.1:3000 (UI_HOST, UI_PORT)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export OPTVOL_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(OPTVOL_DATA_DIR)/dagster_home
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# Installs go through uv (seconds; `uv` on PATH, else pip puts it in the venv), given the
# indexes, find-links and constraints pip is configured with; through pip (minutes) if uv
# is not to be had or fails, or with `make install UV=`. See tools/install.py.
# constraints.txt pins torch to the CPU build found locally; see pyproject.toml.
UV ?= uv
STAMP := $(VENV)/.installed

.PHONY: demo test install lint ui dagster-home clean-artifacts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt tools/install.py | $(BIN)/python
	$(BIN)/python tools/install.py --uv '$(UV)' --constraint constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

# The instance's storage is created here, once: runs started at once on a new instance
# would race to create it.
dagster-home: install
	mkdir -p "$(DAGSTER_HOME)"
	cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	$(BIN)/optvol init-home --dagster-home "$(DAGSTER_HOME)"

demo: install dagster-home
	@if [ -z "$$(find "$(OPTVOL_DATA_DIR)/raw" -type f 2>/dev/null | head -n 1)" ]; then \
		$(BIN)/optvol sample-data --size demo; \
	else echo "data/raw/ has inputs; not writing the sample"; fi
	VIRTUAL_ENV="$(abspath $(VENV))" $(BIN)/dg launch --assets '*' \
		--partition-range "$$($(BIN)/optvol quote-months)"

# Tests run on up to 4 xdist workers (an idle one takes tests queued for a busy one);
# TEST_WORKERS=0 runs them in one process. The UI and daemon test, mostly waiting on the
# runs its sensors launch, runs beside them in a pytest process of its own.
# tools/run_tests.py says how, and why bytecode caches are written.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python tools/run_tests.py --workers $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The UI, and the daemon that runs sensors and schedules (README "Operating optvol").
ui: install dagster-home
	$(BIN)/dagster dev -w workspace.yaml -h $(UI_HOST) -p $(UI_PORT)

clean-artifacts:
	rm -rf "$(OPTVOL_DATA_DIR)"/{staging,processed,models,metrics,plots,reports}
