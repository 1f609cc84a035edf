SHELL := bash
.SHELLFLAGS := -o pipefail -euc
.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin/stripelab
OUT     ?= out
FUZZTIME ?= 30s

.PHONY: help build run serve test race bench fuzz lint tidy schema clean e2e

# REAL_PKGS start real processes on this machine and share one lock: they
# run after the others, one package at a time (-p 1).
REAL_PKGS := ./components/realtest ./components/process

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-8s %s\n", $$1, $$2}'

build: ## build the binary into bin/
	$(GO) build -o $(BIN) ./cmd/stripelab

run: build ## run the default scenario in the simulator and print where the report is
	./$(BIN) run --out $(OUT)/default

serve: build ## serve the dashboard over the OUT folder (default out) at http://127.0.0.1:8080, loopback only
	./$(BIN) serve --results $(OUT)

test: ## run every test (unit, determinism, queueing theory, golden files, fuzz smoke, browser)
	@[ -n "$${STRIPELAB_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		command -v google-chrome >/dev/null || echo "browser tests SKIPPED: no Chromium (apt-get install chromium, or set STRIPELAB_CHROMIUM)"
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /components/realtest -e /components/process$$)
	$(GO) test -count=1 -timeout 20m -p 1 $(REAL_PKGS)
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 5s ./scenarios
	@$(GO) run ./internal/browsertest/checkchromium

race: ## run the tests under the race detector (-short; not sim/ nor reports/, which start no goroutine, as sim/lint_test.go and reports/lint_test.go enforce, and make test runs)
	$(GO) test -count=1 -race -short -timeout 20m $$($(GO) list ./... | grep -v -e /components/realtest -e /components/process$$ -e /stripelab/sim$$ -e /stripelab/reports$$)
	$(GO) test -count=1 -race -short -timeout 20m -p 1 $(REAL_PKGS)

e2e: ## run every real scenario (scenarios/library/real) on both real backends: process (verdicts checked) and containers (STRIPELAB_E2E=1; about 27 minutes)
	STRIPELAB_E2E=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'TestE2EScenarios' -v ./components/realtest
	STRIPELAB_E2E=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'TestE2E' -v ./components/containers

bench: ## run the benchmarks: simulator speed against the bare pipeline, memory, scale, parallel runs, queue, recorder
	$(GO) test -run '^$$' -bench 'Reference$$|ReferenceMinute|BarePipeline|DurationMemory|Scale|ParallelRuns' -benchtime 1x ./sim
	$(GO) test -run '^$$' -bench 'QueueHold|DelayMix' -benchmem ./sim
	$(GO) test -run '^$$' -bench . -benchmem ./reports
	$(GO) test -run '^$$' -bench 'Hop|Throughput' -benchtime 2s ./components/gateway
	$(GO) test -run '^$$' -bench 'Hop' -benchtime 2000x ./components/network

fuzz: ## fuzz the scenario loader for FUZZTIME (default 30s)
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) ./scenarios

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

tidy: ## go mod tidy, failing if go.mod or go.sum change
	$(GO) mod tidy
	git diff --exit-code go.mod go.sum

schema: ## regenerate scenarios/schema.json and docs/scenarios.md from the Go types
	$(GO) test ./scenarios -run 'TestSchemaUpToDate|TestReferenceUpToDate' -update

clean: ## remove build output
	rm -rf bin $(OUT)
