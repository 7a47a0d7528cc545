# oryguard: every target loops over the modules listed in modules.txt.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

ROOT      := $(CURDIR)
BIN       := $(ROOT)/.cache/bin
KRATOS    := $(BIN)/kratos
OATHKEEPER := $(BIN)/oathkeeper
KETO      := $(BIN)/keto
LINT      := $(BIN)/golangci-lint
APIDIFF   := $(BIN)/apidiff
BENCHSTAT := $(BIN)/benchstat
# The modules come from modules.txt, in its order (libraries first, the test
# modules that need Kratos and Chromium last). Loops skip a listed directory
# that has no go.mod yet; internal/release's tests fail on any such mismatch.
MODULES_FILE := $(ROOT)/modules.txt
list_modules  = $(shell awk '!/^[[:space:]]*(\#|$$)/ && $(1) {print $$1}' $(MODULES_FILE))
LIB_MODULES  := $(call list_modules,$$2 == "lib")
TEST_MODULES := $(call list_modules,$$2 == "test")
MODULES      := $(LIB_MODULES) $(TEST_MODULES)
TOOL_MODULES := $(call list_modules,$$2 == "tool")
TIDY_MODULES := $(call list_modules,$$3 != "no-tidy")

export ORYGUARD_KRATOS_BIN := $(KRATOS)
export ORYGUARD_OATHKEEPER_BIN := $(OATHKEEPER)
export ORYGUARD_KETO_BIN   := $(KETO)
export ORYGUARD_APIDIFF    := $(APIDIFF)
export ORYGUARD_BENCHSTAT  := $(BENCHSTAT)

GOTEST ?= go test -race -count=1

.PHONY: all test test-unit test-alone vet lint tidy-check modules work kratos keto oathkeeper demo bench fuzz soak help gogetcheck apicheck release release-check

all: test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# each runs $(1) in every module of $(2) that has a go.mod, in list order,
# and names the modules it failed in at the end.
define each
	@failed=; for m in $(2); do \
	  if [ -f $$m/go.mod ]; then echo "== $$m"; (cd $$m && $(1)) || failed="$$failed $$m"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "$@ failed in:$$failed"; exit 1; fi
endef

test: kratos keto $(APIDIFF) ## every module's tests under -race, the end-to-end suites against a real Kratos and a real Keto included
	$(call each,$(GOTEST) ./...,$(MODULES))

test-unit: ## the library modules' tests only (no Kratos)
	$(call each,$(GOTEST) ./...,$(LIB_MODULES))

# test-alone proves that each module builds on its own go.mod (GOWORK=off:
# the requirements a user of the module gets, not the workspace's). Library
# modules run their tests again (without -race: make test ran them with it).
# Test modules (examples, the end-to-end suite, benchmarks, release tooling)
# are built and vetted, which type-checks their tests, but not run: make test
# ran them once, and running the end-to-end suites twice would double CI's
# longest step.
test-alone: ## each module built on its own (GOWORK=off): library tests run, test modules built and vetted
	$(call each,GOWORK=off go build ./... && GOWORK=off go test -count=1 ./...,$(LIB_MODULES))
	$(call each,GOWORK=off go build ./... && GOWORK=off go vet ./...,$(TEST_MODULES))

vet: ## go vet over every module
	$(call each,go vet ./...,$(MODULES))

lint: $(LINT) ## golangci-lint (pinned in internal/tools/lint) over every module
	$(call each,$(LINT) run ./...,$(MODULES))

tidy-check: ## go mod tidy leaves no diff in any module
	$(call each,GOWORK=off go mod tidy,$(TIDY_MODULES))
	@if ! git diff --exit-code -- '*go.mod' '*go.sum'; then \
	  echo "go mod tidy changed the files above: run it and commit"; exit 1; fi; \
	echo "tidy: ok"

modules: ## print the module list (modules.txt): directory and kind
	@grep -Ev '^[[:space:]]*(#|$$)' $(MODULES_FILE)

work: ## set go.work's use list to modules.txt's lib and test modules
	@for d in $$(go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p'); do go work edit -dropuse=$$d; done
	go work edit $(addprefix -use=./,$(sort $(MODULES)))

kratos: $(KRATOS) ## build Ory Kratos (pinned in internal/tools/kratos) once

$(KRATOS): internal/tools/kratos/go.mod internal/tools/kratos/go.sum
	@echo "building Ory Kratos (cgo, -tags sqlite); the first build takes a few minutes"
	@mkdir -p $(BIN)
	cd internal/tools/kratos && GOWORK=off CGO_ENABLED=1 go build -tags sqlite -o $(KRATOS) github.com/ory/kratos

keto: $(KETO) ## build Ory Keto (pinned in internal/tools/keto) once

$(KETO): internal/tools/keto/go.mod internal/tools/keto/go.sum
	@echo "building Ory Keto (cgo, -tags sqlite); the first build takes a few minutes"
	@mkdir -p $(BIN)
	cd internal/tools/keto && GOWORK=off CGO_ENABLED=1 go build -tags sqlite -o $(KETO) github.com/ory/keto

# Oathkeeper is the peer row of make bench (the same route behind Ory's own
# proxy). Only make bench builds it: make test and .ci/run never need it.
oathkeeper: $(OATHKEEPER) ## build Ory Oathkeeper (pinned in internal/tools/oathkeeper) once, for make bench

$(OATHKEEPER): internal/tools/oathkeeper/go.mod internal/tools/oathkeeper/go.sum
	@echo "building Ory Oathkeeper for make bench; the first build takes a few minutes"
	@mkdir -p $(BIN)
	cd internal/tools/oathkeeper && v=$$(GOWORK=off go list -m -f '{{.Version}}' github.com/ory/oathkeeper) && \
	  GOWORK=off CGO_ENABLED=0 go build -ldflags "-X github.com/ory/oathkeeper/x.Version=$$v" -o $(OATHKEEPER) github.com/ory/oathkeeper

$(LINT): internal/tools/lint/go.mod internal/tools/lint/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/lint && GOWORK=off go build -o $(LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

$(APIDIFF): internal/tools/apidiff/go.mod internal/tools/apidiff/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/apidiff && GOWORK=off go build -o $(APIDIFF) golang.org/x/exp/cmd/apidiff

$(BENCHSTAT): internal/tools/benchstat/go.mod internal/tools/benchstat/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/benchstat && GOWORK=off go build -o $(BENCHSTAT) golang.org/x/perf/cmd/benchstat

# ---- releases (README.md, "Versions and releases"; internal/release) ----
# The library modules are modules.txt's lib lines. apicheck allows the
# breaking changes listed in internal/release/apicheck-allow.txt when it
# compares against that file's base (see the file).
VERSION ?=
BASE    ?=

gogetcheck: ## the go get check alone: pack the library modules into a file proxy, build and serve every README snippet
	cd internal/release && $(GOTEST) -run '^TestGoGet$$' -v .

apicheck: $(APIDIFF) ## each library module's exported API against its last release tag (or BASE=ref); breaking changes fail unless internal/release/apicheck-allow.txt lists them for that base
	cd internal/release && go run ./cmd/apicheck -apidiff $(APIDIFF) $(if $(BASE),-base $(BASE))

release-check: $(APIDIFF) ## the checks make release runs on the bumped tree
	$(MAKE) --no-print-directory test-unit
	cd internal/release && $(GOTEST) ./...
	$(MAKE) --no-print-directory apicheck

release: ## make release VERSION=vX.Y.Z: bump, check, commit and tag every library module (pushes nothing)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=vX.Y.Z"; exit 2; }
	cd internal/release && go run ./cmd/release -version $(VERSION)

# ---- demo: an example app against a local Kratos (examples/README.md) ----
# Binaries, not `go run`: `go run` does not pass SIGTERM on to the program it
# started, so stopping it would leave Kratos running.
FRAMEWORK ?= gin
DEMO_LOG  := $(ROOT)/.cache/demo-kratos.log
DEMO_URLS := $(ROOT)/.cache/demo-kratos.urls
DEMO_KETO_LOG  := $(ROOT)/.cache/demo-keto.log
DEMO_KETO_URLS := $(ROOT)/.cache/demo-keto.urls
DEMO_ADMINS    ?= admin@example.com

demo: kratos keto ## run Kratos, Keto and examples/$(FRAMEWORK) (gin, echo, echov5, fiber, fiberv3, nethttp) on http://127.0.0.1:4455
	@test -f examples/$(FRAMEWORK)/main.go || { echo "FRAMEWORK=$(FRAMEWORK): use gin, echo, echov5, fiber, fiberv3 or nethttp"; exit 2; }
	@cd internal/e2e && GOWORK=off go build -o $(BIN)/kratosdev ./cmd/kratosdev && GOWORK=off go build -o $(BIN)/ketodev ./cmd/ketodev
	@cd examples && go build -o $(BIN)/demo-$(FRAMEWORK) ./$(FRAMEWORK)
	@pids=; trap 'kill $$pids 2>/dev/null || true; wait' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	rm -f $(DEMO_URLS) $(DEMO_KETO_URLS); \
	$(BIN)/kratosdev -public 4433 -admin 4434 -ui http://127.0.0.1:4455 -return http://127.0.0.1:4455/dashboard \
	  -allowed http://127.0.0.1:4455 >$(DEMO_URLS) 2>$(DEMO_LOG) & pids=$$!; \
	$(BIN)/ketodev -read 4466 -write 4467 -kratos http://127.0.0.1:4434 -admins $(DEMO_ADMINS) \
	  >$(DEMO_KETO_URLS) 2>$(DEMO_KETO_LOG) & pids="$$pids $$!"; \
	until grep -q KRATOS_PUBLIC_URL $(DEMO_URLS) 2>/dev/null && grep -q KETO_READ_URL $(DEMO_KETO_URLS) 2>/dev/null; do \
	  for p in $$pids; do kill -0 $$p 2>/dev/null || { tail -n 20 $(DEMO_LOG) $(DEMO_KETO_LOG); echo "Kratos or Keto did not start (logs: $(DEMO_LOG), $(DEMO_KETO_LOG))"; exit 1; }; done; \
	  sleep 0.2; \
	done; \
	echo "Kratos: http://127.0.0.1:4433 (log: $(DEMO_LOG))"; \
	echo "Keto: read http://127.0.0.1:4466, write http://127.0.0.1:4467 (log: $(DEMO_KETO_LOG)); admins: $(DEMO_ADMINS)"; \
	echo "open http://127.0.0.1:4455"; \
	ORY_SDK_URL=http://127.0.0.1:4433 ORY_PERMISSIONS_URL=http://127.0.0.1:4466 PORT=4455 $(BIN)/demo-$(FRAMEWORK) & pids="$$pids $$!"; \
	wait -n

# Benchmarks (internal/bench): one table of figures, ratios and targets; the
# results and the machine they ran on are recorded in BENCHMARKS.md. Load goes
# only to 127.0.0.1, with wrk when it can be installed, else a Go load loop.
# Section 1 is also Benchmark functions for go test -bench and benchstat
# (BenchmarkHit, BenchmarkCore, BenchmarkTelemetry);
# BENCH_FLAGS='-baseline <rev>' runs the revision's own BenchmarkHit (built in
# a git worktree) side by side and prints benchstat's table of old vs new.
BENCH_FLAGS ?=
bench: kratos keto oathkeeper $(BENCHSTAT) ## benchmarks: core hit/miss, oryotel overhead, adapters vs bare and no-op routes, real Kratos vs naive middleware, a permission check against a real Keto, collapsing, memory, guard vs Oathkeeper, active user with refresh ahead on/off (~9 min)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
	  || echo "bench: wrk could not be installed; using the Go load loop"
	cd internal/bench && go run ./cmd/bench $(BENCH_FLAGS)

# ---- reliability: fuzzing and the soak (RELIABILITY.md) ----
# Each fuzz target (module:name) runs alone for FUZZTIME; the seed corpora are
# in <module>/testdata/fuzz/<name>/ and also run as plain tests in `make test`.
FUZZTIME     ?= 20s
FUZZ_TARGETS := core:FuzzExtract core:FuzzReturnTo core:FuzzWhoami core:FuzzPermitObject adapters/fiber:FuzzFasthttpExtract
SOAK_DURATION ?= 60s
SOAK_FLAGS    ?=

fuzz: ## fuzz credential extraction (also through fasthttp's parser), return_to, whoami handling and permission objects, FUZZTIME (20s) each
	@for f in $(FUZZ_TARGETS); do \
	  echo "== $$f ($(FUZZTIME))"; \
	  (cd $${f%%:*} && go test -run '^$$' -fuzz "^$${f#*:}\$$" -fuzztime $(FUZZTIME) .); \
	done

soak: kratos ## soak against a real Kratos for SOAK_DURATION (60s) and print its figures
	cd internal/e2e && go run ./cmd/soak -duration $(SOAK_DURATION) $(SOAK_FLAGS)
