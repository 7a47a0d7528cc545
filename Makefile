# oryguard: every target loops over the workspace's modules.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

ROOT      := $(CURDIR)
BIN       := $(ROOT)/.cache/bin
KRATOS    := $(BIN)/kratos
LINT      := $(BIN)/golangci-lint
# Library modules first; test modules last (they need Kratos and Chromium).
LIB_MODULES  := core adapters/nethttp adapters/gin adapters/echo adapters/fiber
TEST_MODULES := internal/conformance internal/e2e examples
MODULES      := $(LIB_MODULES) $(TEST_MODULES)
TOOL_MODULES := internal/tools/kratos internal/tools/lint

export ORYGUARD_KRATOS_BIN := $(KRATOS)

GOTEST ?= go test -race -count=1

.PHONY: all test test-unit test-alone lint tidy-check kratos demo bench fuzz soak help

all: test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: kratos ## every module's tests under -race, the end-to-end suite against a real Kratos included
	@for m in $(MODULES); do \
	  if [ -f $$m/go.mod ]; then echo "== $$m"; (cd $$m && $(GOTEST) ./...); fi; \
	done

test-unit: ## the library modules' tests only (no Kratos)
	@for m in $(LIB_MODULES) internal/conformance; do \
	  if [ -f $$m/go.mod ]; then echo "== $$m"; (cd $$m && $(GOTEST) ./...); fi; \
	done

test-alone: kratos ## each module built and tested on its own (GOWORK=off)
	@for m in $(MODULES); do \
	  if [ -f $$m/go.mod ]; then echo "== $$m (GOWORK=off)"; \
	    (cd $$m && GOWORK=off go build ./... && GOWORK=off $(GOTEST) ./...); fi; \
	done

lint: $(LINT) ## golangci-lint (pinned in internal/tools/lint) over every module
	@for m in $(MODULES); do \
	  if [ -f $$m/go.mod ]; then echo "== $$m"; (cd $$m && $(LINT) run ./...); fi; \
	done

tidy-check: ## go mod tidy leaves no diff in any module
	@for m in $(MODULES) $(TOOL_MODULES); do \
	  if [ -f $$m/go.mod ]; then (cd $$m && GOWORK=off go mod tidy); fi; \
	done; \
	if ! git diff --exit-code -- '*go.mod' '*go.sum'; then \
	  echo "go mod tidy changed the files above: run it and commit"; exit 1; fi; \
	echo "tidy: ok"

kratos: $(KRATOS) ## build Ory Kratos (pinned in internal/tools/kratos) once

$(KRATOS): internal/tools/kratos/go.mod internal/tools/kratos/go.sum
	@echo "building Ory Kratos (cgo, -tags sqlite); the first build takes a few minutes"
	@mkdir -p $(BIN)
	cd internal/tools/kratos && GOWORK=off CGO_ENABLED=1 go build -tags sqlite -o $(KRATOS) github.com/ory/kratos

$(LINT): internal/tools/lint/go.mod internal/tools/lint/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/lint && GOWORK=off go build -o $(LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint
