# Burnwatch: `make demo` runs the whole pipeline on a built-in sample; `make test` runs the tests.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON_BIN ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
BW := $(VENV)/bin/burnwatch
DEMO := demo
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install system-deps demo test lint ui bench bench-100m clean

$(UV):
	$(PYTHON_BIN) -m pip install --quiet --user uv==0.13.9 || $(PYTHON_BIN) -m pip install --quiet uv==0.13.9

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --extra spark
	touch $@

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $@

# Real Alertmanager, Prometheus (promtool) and Chromium for the tests, from Debian.
system-deps:
	bash scripts/install-system-deps.sh

demo: install
	$(BW) sample-data --out $(DEMO)/data
	$(BW) run --dry-run --data $(DEMO)/data --manifest $(DEMO)/data/slos.yaml --warehouse $(DEMO)/warehouse

test: install system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

ui: install
	@test -d $(DEMO)/warehouse || $(MAKE) demo
	# Started from $(DAGSTER_HOME): from the project folder, dagster dev would warn that the
	# dagster.yaml it finds there "will not be used" (the copy in $(DAGSTER_HOME) is).
	cd $(DAGSTER_HOME) && \
	BURNWATCH_DATA_DIR=$(CURDIR)/$(DEMO)/data BURNWATCH_MANIFEST=$(CURDIR)/$(DEMO)/data/slos.yaml \
	BURNWATCH_WAREHOUSE=$(CURDIR)/$(DEMO)/warehouse \
	$(CURDIR)/$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 --working-directory $(CURDIR) \
	    -m pipelines.definitions

bench: install
	$(VENV)/bin/python -m pipelines.bench --out bench-data
	$(VENV)/bin/python -m pipelines.bench_live --out bench-data
	$(VENV)/bin/python -m pipelines.bench_tenants --out bench-data
	$(VENV)/bin/python -m pipelines.bench_spark --out bench-data

# Opt-in, not in `make bench`: about 100 million requests (scale 22, some 1.7 GB of Parquet
# in bench-data-100m/: 4.5 million rows take 76 MB) and the whole `burnwatch run` over them
# under a 3 GiB memory_limit. Five times make bench's data, plus the whole run: far longer
# than ten minutes on two cores.
bench-100m: install
	$(VENV)/bin/python -m pipelines.bench --out bench-data-100m --scale 22 --repeat 1 \
	    --whole-run --memory-limit 3GiB

clean:
	rm -rf $(DEMO) bench-data bench-data-100m $(DAGSTER_HOME)
