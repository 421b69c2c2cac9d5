# mirrorflow: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# jsii prints a large end-of-life banner on Node 20 unless this is set before node starts.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true

GO      ?= go
TASKS   := $(notdir $(wildcard tasks/*))
# Lambda assets: one bootstrap per step, linux/arm64 for provided.al2023.
LAMBDA_DIR := bin/lambda
# Host builds of the same steps, for running the workflow offline.
LOCAL_DIR  := bin/local
NODE_DIR   := _node
CDK        := $(NODE_DIR)/node_modules/.bin/cdk

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build every step's bootstrap for Lambda (linux/arm64) into bin/lambda/<step>/
	@for t in $(TASKS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	    -o $(LAMBDA_DIR)/$$t/bootstrap ./tasks/$$t || exit 1; \
	done

.PHONY: build-local
build-local: ## Build every step's bootstrap for this machine into bin/local/<step>/
	@for t in $(TASKS); do \
	  CGO_ENABLED=0 $(GO) build -tags lambda.norpc -o $(LOCAL_DIR)/$$t/bootstrap ./tasks/$$t || exit 1; \
	done

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: node
node: $(NODE_DIR)/node_modules/.package-lock.json ## Install the pinned npm tools (CDK CLI, asl-validator, aws-local-stepfunctions, cdk-validator-cfnguard)

# The offline tests run the template and host bootstraps built here instead of building their own.
OFFLINE_ENV := MIRRORFLOW_TEMPLATE=$(CURDIR)/cdk.out/Mirrorflow.template.json MIRRORFLOW_BOOTSTRAPS=$(CURDIR)/$(LOCAL_DIR)

.PHONY: test
test: node synth build-local ## Run go vet and every test, the offline end-to-end tests included
	$(GO) vet ./...
	$(OFFLINE_ENV) $(GO) test ./...

.PHONY: demo
demo: synth build-local ## Run the real workflow offline on the example accounts and show what it did
	$(GO) run ./cmd/mirrorlocal --snapshot testdata/snapshots/three-zones.json
	@echo
	@echo "The same workflow on an account whose only sensor's security group does not admit VXLAN:"
	@echo
	$(GO) run ./cmd/mirrorlocal --snapshot testdata/snapshots/sg-blocked.json
	@echo
	@echo "The same workflow on an account with three Rules (pci, dmz, main-vpc) and every interface a source"
	@echo "(Interfaces \"all\"): an instance of several interfaces gets a row per interface, dead letters name it:"
	@echo
	$(GO) run ./cmd/mirrorlocal --snapshot testdata/snapshots/scoped.json
	@echo
	@echo "The backfill: the day mirrorflow is deployed into an account of 48 running instances, 2 mirrored, one sensor"
	@echo "draining and an opted-out instance still mirrored. The Reconcile state machine places the rest, one placement"
	@echo "execution per instance, and removes the stale sessions:"
	@echo
	$(GO) run ./cmd/mirrorlocal --snapshot testdata/snapshots/backfill.json --reconcile

GOLANGCI_LINT := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: lint
lint: ## Run go vet and golangci-lint (errorlint, gosec, revive, staticcheck)
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

.PHONY: bench
bench: synth build-local ## Run the benchmarks but the burst and the backfill (numbers go to BENCHMARKS.md)
	$(OFFLINE_ENV) $(GO) test -run '^$$' -bench . -skip 'Burst|ReconcileBackfill' -benchmem -count 3 ./shared/... ./internal/...

.PHONY: bench-burst
bench-burst: synth build-local ## Place 1,000 instances at once on 120 and on 100 sensors, then backfill 1,000 with the Reconcile; real EC2 buckets and retry intervals (minutes)
	$(OFFLINE_ENV) $(GO) test -run '^$$' -bench 'Burst|ReconcileBackfill' -benchtime 1x -timeout 60m -v ./internal/offline/

.PHONY: clean
clean: ## Remove what the build, synth and tests wrote
	rm -rf bin cdk.out

.PHONY: synth
synth: node build ## Synthesize the Mirrorflow stack into cdk.out (configuration: cdk.json context "mirrorflow")
	$(CDK) synth --no-notices -q -o cdk.out

.PHONY: deploy
deploy: synth ## Deploy the synthesized Mirrorflow stack with the current AWS credentials
	$(CDK) deploy --no-notices --app cdk.out Mirrorflow
