# One environment (.venv) for the whole repository. Every target that needs it builds it first,
# so `make run` and `make test` work on a fresh machine with only Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8

# Every installable package of the repository, in dependency order.
LIBS := libs/protos libs/events libs/runtime libs/records libs/rulebook libs/archive libs/devstack libs/testkit
SERVICES := $(wildcard services/*)
PACKAGES := $(LIBS) $(SERVICES)
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
PROTOS := $(shell find proto -name '*.proto')

INSTALL_STAMP := $(VENV)/.installed
GEN_STAMP := libs/protos/src/training/.generated

PYTEST_ARGS ?=

.PHONY: help install gen run test browser lint format bench lock migrate charts clean
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(INSTALL_STAMP): requirements.lock requirements.in $(PYPROJECTS) | $(UV)
	$(UV) pip install --python $(PY) --quiet -c requirements.lock -r requirements.in $(addprefix -e ,$(PACKAGES))
	@touch $@

install: $(INSTALL_STAMP) $(GEN_STAMP)  ## create .venv and install every package (locked)

$(GEN_STAMP): $(PROTOS) $(INSTALL_STAMP)
	$(PY) libs/protos/protogen.py proto libs/protos/src
	@touch $@

gen: $(GEN_STAMP)  ## generate the Python protobuf and gRPC code from proto/

run: install  ## run the whole platform locally (embedded PostgreSQL and NATS unless configured)
	$(PY) -m training_devstack run

test: install browser  ## run the whole test suite against real PostgreSQL and NATS
	$(PY) -m pytest $(PYTEST_ARGS)

browser:  ## Debian's chromium and a CJK font for the browser tests (apt-get as root or with sudo; once)
	@tests/install-browser

lint: install  ## ruff and buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd proto && ../$(VENV)/bin/buf lint

format: install  ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install  ## run every benchmark under bench/ and write docs/performance.md (figures beside same-run baselines)
	$(PY) -m bench --write docs/performance.md

migrate: install  ## apply every service's migrations to the databases named in the environment
	$(PY) -m training_devstack migrate

charts: install  ## regenerate every chart's values.schema.json (after changing a chart's values)
	$(PY) charts/values_schema.py

docs: install  ## regenerate the generated parts of docs/ (the events catalogue)
	$(PY) -m training_events.catalogue --write docs/events.md

lock: | $(UV)  ## re-resolve requirements.in into requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements.in -o requirements.lock

clean:  ## remove the environment, generated code and local run state
	rm -rf $(VENV) libs/protos/src/training .run test-output
