# The two set-up commands (see README): `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install lint bench send-webhook orders clean translations extensions

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# The gettext catalogs, compiled (the .mo files are not in git).
CATALOGS := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
app/translations/.compiled: $(CATALOGS) | $(STAMP)
	$(BIN)/pybabel compile --statistics -d app/translations -D messages 2>&1 | grep -v "^compiling" || true
	@touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(STAMP) node_modules/.package-lock.json app/translations/.compiled

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

## Text: extract every message key from the code and templates, then add new ones to both catalogs.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k t:2 -k N_ -k _ --no-default-keywords --omit-header --sort-output \
		-o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -D messages --no-fuzzy-matching \
		--width 120
	AFTERCART_ENV=demo $(BIN)/flask --app app annotate-translations
	@echo "Now translate the new entries of app/translations/th/LC_MESSAGES/messages.po (and en for the English)."

## The UI extensions for Shopify's order status and thank-you pages, bundled with esbuild as Shopify's CLI does
## (build/extensions/, not in git), and their tests (build/extension-tests/). Set the backend they call with
## `make extensions SHOPIFY_APP_URL=https://your-app.example.com` before `shopify app deploy`.
extensions: node_modules/.package-lock.json
	node extensions/build.mjs
	node --test build/extension-tests/

bench: install
	$(BIN)/python benchmarks/webhook_ingest.py

clean:
	rm -rf $(VENV) instance .pytest_cache build
