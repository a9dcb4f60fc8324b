# The two set-up commands (see README): `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install lint bench send-webhook orders clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(STAMP) node_modules/.package-lock.json

## Run the app with a demo store on embedded defaults (SQLite, jobs inline, no Redis needed). `make demo PORT=5050`.
PORT ?= 5000
demo: install
	AFTERCART_ENV=demo $(BIN)/flask --app app demo --port $(PORT)

## Run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1; .ci/run starts them).
test: install
	$(BIN)/ruff check app tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/pytest -q

## Sign a payload with the demo secret and POST it to the running demo, like Shopify does.
FILE ?= tests/fixtures/shopify/orders_create.json
TOPIC ?= orders/create
send-webhook: install
	AFTERCART_ENV=demo $(BIN)/flask --app app send-webhook $(FILE) --topic $(TOPIC) --url http://127.0.0.1:$(PORT)/webhooks

## List the demo store's orders.
orders: install
	AFTERCART_ENV=demo $(BIN)/flask --app app orders

bench: install
	$(BIN)/python benchmarks/webhook_ingest.py

clean:
	rm -rf $(VENV) instance .pytest_cache
