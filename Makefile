# Concerta: `make demo` runs the demo, `make test` runs the checks (what CI runs).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export HAYSTACK_TELEMETRY_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install system-deps translation-deps lint typecheck unit integration eval bench clean vendor-axe

$(BIN)/concerta: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU build of torch from the machine's disk first; an unpinned torch is a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/concerta

install: $(BIN)/concerta

# Headless Chromium for the widget's browser tests (Debian package, never a downloaded build).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Apertium's Spanish-Catalan pair: Spanish questions are read in Catalan (assistant/ask/language.py);
# Softcatalà's thesaurus: words of like meaning for Catalan words the index lacks (index_config/thesaurus.py).
APERTIUM_PACKAGES := apertium apertium-spa-cat cg3 apertium-lex-tools mythes-ca
translation-deps:
	@if [ ! -f /usr/share/apertium/apertium-spa-cat/spa-cat.automorf.bin ] \
		|| [ ! -f /usr/share/mythes/th_ca_ES_v2.dat ] \
		|| ! command -v cg-proc >/dev/null || ! command -v lrx-proc >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APERTIUM_PACKAGES) >/dev/null; \
	fi

# The sample catalogue is 2022's: the demo's reference date (CONCERTA_TODAY) falls inside it,
# so "Obert ara", /api/open, the timeline and the answers show windows open and opening.
DEMO_TODAY ?= 2022-03-01

demo: install
	@$(MAKE) --no-print-directory translation-deps \
		|| echo "Sense Apertium (apt-get): les preguntes en castellà es llegiran tal com s'escriuen."
	$(BIN)/concerta ingest
	@echo "Concerta at http://127.0.0.1:8000/ (reference date $(DEMO_TODAY)); Ctrl+C stops it."
	CONCERTA_TODAY=$(DEMO_TODAY) $(BIN)/concerta serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy ingest assistant bots index_config tests bench

unit: install
	$(BIN)/pytest -q tests/unit

integration: install system-deps translation-deps
	$(BIN)/pytest -q -m integration

test: install system-deps translation-deps lint typecheck
	$(BIN)/pytest -q

eval: install
	$(BIN)/concerta eval

bench: install
	$(BIN)/python bench/bench_retrieval.py
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf .concerta .pytest_cache .mypy_cache .ruff_cache

# axe-core for the browser tests' accessibility checks, vendored from the npm registry
# package (committed with its licence header; `make vendor-axe` refreshes it). Pinned and
# checked against the registry's integrity hash.
AXE_VERSION := 4.14.1
AXE_INTEGRITY := sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
vendor-axe:
	rm -rf /tmp/concerta-axe && mkdir -p /tmp/concerta-axe
	cd /tmp/concerta-axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	test "$$(printf 'sha512-%s' "$$(openssl dgst -sha512 -binary /tmp/concerta-axe/axe-core-$(AXE_VERSION).tgz | base64 -w0)")" = "$(AXE_INTEGRITY)"
	tar -xzf /tmp/concerta-axe/axe-core-$(AXE_VERSION).tgz -C /tmp/concerta-axe package/axe.min.js package/LICENSE
	cp /tmp/concerta-axe/package/axe.min.js tests/support/axe.min.js
	cp /tmp/concerta-axe/package/LICENSE tests/support/axe-core.LICENSE
