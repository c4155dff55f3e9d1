# Tool versions are pinned here; `make` installs each into ./bin on first use.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
ENVTEST_K8S_VERSION ?= 1.37.2

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# setup-envtest's store, so envtest finds the binaries where it would look anyway.
ENVTEST_STORE ?= $(HOME)/.local/share/kubebuilder-envtest
ENVTEST_ASSETS ?= $(ENVTEST_STORE)/k8s/$(ENVTEST_K8S_VERSION)-linux-amd64

# Tests may be narrowed: make test TEST_ARGS='-run TestFileLink'.
TEST_ARGS ?=
# How long `make test` fuzzes the token parser; `make fuzz FUZZTIME=10m` for a long run.
FUZZTIME ?= 10s

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs, RBAC and webhook manifests from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods from markers.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Fail when a Go file is not gofmt-formatted (gofmt -w FILE fixes it).
	@files="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$files" ]; then echo "not gofmt-formatted:"; echo "$$files"; exit 1; fi

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml), also over the e2e-tagged tests.
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e ./...

.PHONY: vet
vet: ## Run go vet, including the end-to-end tests.
	go vet ./...
	go vet -tags e2e ./test/...

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when generated files differ from what the markers produce.
	hack/verify-generated.sh

.PHONY: verify-mod
verify-mod: ## Fail when go.mod or go.sum are not tidy.
	go mod tidy -diff
	go -C hack/tools/envtest mod tidy -diff
	go -C hack/tools/seaweedfs mod tidy -diff

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest (only when missing) and print their directory.
	@hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)"

.PHONY: seaweedfs
seaweedfs: ## Build SeaweedFS's weed, the tests' S3 server, into a cache outside the repository (only when missing) and print its path.
	@hack/seaweedfs.sh

.PHONY: test
test: verify-generated verify-mod fmt vet lint ## Check generated files, formatting and lints, then run every test against a real API server (and SeaweedFS).
	@# The S3 server is built before the tests (minutes, once), not inside one under its timeout.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
	SEAWEEDFS_BIN="$$(hack/seaweedfs.sh)" \
		go test ./... -count=1 $(TEST_ARGS)
	@# Each benchmark once, so they keep compiling and working.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go test ./internal/... -count=1 -run '^$$' -bench . -benchtime 1x
	$(MAKE) --no-print-directory fuzz

.PHONY: test-e2e
test-e2e: manifests ## Build the manager and drive it with kubectl and HTTP against a local control plane, webhooks on.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go test -tags e2e ./test/e2e -count=1 -v $(TEST_ARGS)

.PHONY: bench
bench: build ## Measure the SPEC §9 targets on a local control plane; writes bench/RESULTS.md (not part of test).
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go run ./test/perf --manager bin/manager --results bench/RESULTS.md $(BENCH_ARGS)

.PHONY: fuzz
fuzz: ## Fuzz the URL token parser and verifier for FUZZTIME (seed corpus in internal/signing/testdata).
	go test ./internal/signing -run '^$$' -fuzz FuzzTokenFromPath -fuzztime $(FUZZTIME)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o bin/manager .

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster of the current kubeconfig.
	go run . $(ARGS)

.PHONY: dev
dev: build ## Run everything locally: control plane, webhook, manager, samples (Ctrl-C stops it all).
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go run ./hack/dev --manager bin/manager

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster of the current kubeconfig.
	kubectl delete -k config/crd --ignore-not-found

$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	@mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

# Built from its Go module, like controller-gen; the build takes a few minutes once.
$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@mv $(LOCALBIN)/golangci-lint $(GOLANGCI_LINT)
