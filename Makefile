# The README's two commands: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run marketplaces test lint check-schema bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python app.py serve --seed-if-empty --host $(HOST) --port $(PORT)

# the demo with fake Amazon, Walmart and eBay (ports 8101-8103) wired to the server
marketplaces: $(BIN)/.installed
	$(BIN)/python app.py marketplace demo --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy domain adapters/memory
	$(BIN)/python tools/check_schema.py
	$(BIN)/python tools/check_migrations.py
	$(BIN)/python tools/check_imports.py

test: lint
	$(BIN)/python -m pytest

# `make bench`: every speed item of the README, before (BASELINE) and after (this tree), in one
# run on PostgreSQL + Redis (the loopback services of .ci/run), with the machine's core count.
BASELINE ?= 211c0a7
BASELINE_DIR ?= /tmp/o2o-bench-baseline
GROWTH_SIZES ?= 1000,100000
bench: $(BIN)/.installed
	@echo "== $$(nproc) cores, baseline $(BASELINE)"
	$(BIN)/python bench/before_after.py --baseline $(BASELINE)
	rm -rf $(BASELINE_DIR); git worktree prune
	git worktree add --detach -f $(BASELINE_DIR) $(BASELINE) >/dev/null
	ln -sfn $(CURDIR)/$(VENV) $(BASELINE_DIR)/.venv
	$(BIN)/python bench/cached_page.py --baseline $(BASELINE_DIR) --rounds 1
	BENCH_SERVER_ROOT=$(BASELINE_DIR) $(BIN)/python bench/checkout.py --only flash-sale \
	    --output bench/results/flash_sale_before.json
	$(BIN)/python bench/checkout.py --only flash-sale --output bench/results/flash_sale.json
	git worktree remove --force $(BASELINE_DIR)
	$(BIN)/python bench/scale_out.py --seed
	$(BIN)/python bench/growth.py --sizes $(GROWTH_SIZES)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
