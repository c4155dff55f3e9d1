# Tool versions are pinned here; `make` installs each into ./bin on first use.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
ENVTEST_K8S_VERSION ?= 1.37.2

LOCALBIN ?= $(shell pwd)/bin

# The image the installers deploy and `make image` names; dist/install.yaml in the
# repository is rendered with this default.
IMG ?= filelink-operator:latest
IMAGE_TAR ?= $(LOCALBIN)/filelink-operator-image.tar
# make release: where it writes, and the repository the image is pushed to (the digest
# pins it; the installers name IMAGE_REPO@sha256:...).
DIST ?= dist
IMAGE_REPO ?= filelink-operator
# Labels of the image built by `make image`.
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# setup-envtest's store, so envtest finds the binaries where it would look anyway.
ENVTEST_STORE ?= $(HOME)/.local/share/kubebuilder-envtest
ENVTEST_ASSETS ?= $(ENVTEST_STORE)/k8s/$(ENVTEST_K8S_VERSION)-linux-amd64

# Tests may be narrowed: make test TEST_ARGS='-run TestFileLink'.
TEST_ARGS ?=
# How much `make test` fuzzes each parser of untrusted input; `make fuzz-long` runs a
# million executions of each.
# A count, not a duration: Go 1.26's fuzzing coordinator can fail a run with "context
# deadline exceeded" when a duration ends while a worker is busy (golang/go#75804,
# fixed in Go 1.27), which a count never does. 20000 executions take about 10 s here.
FUZZTIME ?= 20000x
# make bench-scale: the sizes of the scaling curve (File+FileLink pairs) and where each
# size's manager profiles go; make bench: where its profiles go; make soak: how long it
# runs. BENCH_ARGS reaches all three.
SCALE_SIZES ?= 1000,10000,50000
SCALE_PROFILES ?= bench/scaling-profiles
BENCH_PROFILES ?= bench/profiles
SOAK_MINUTES ?= 30

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
	@# The Helm chart takes its CRDs, RBAC rules and webhooks from what was just generated.
	go run ./hack/chartgen
	$(MAKE) --no-print-directory chart-docs

.PHONY: chart-docs
chart-docs: ## Write the chart's README.md from the "# --" comments of its values.yaml (helm-docs, built from its module).
	go -C hack/tools/release tool helm-docs --chart-search-root $(CURDIR)/charts --skip-version-footer --log-level warning

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

.PHONY: lint-workflows
lint-workflows: ## Check the GitHub Actions workflows with actionlint (built from its module in hack/tools/release); they cannot run here.
	go -C hack/tools/release tool actionlint -color=false $(wildcard $(CURDIR)/.github/workflows/*.yaml)

.PHONY: vet
vet: ## Run go vet, including the end-to-end tests and the separate modules.
	go vet ./...
	go vet -tags e2e ./test/...
	go -C hack/tools/image vet ./...
	go -C hack/tools/release vet ./...
	go -C test/install vet ./...

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when generated files differ from what the markers produce.
	hack/verify-generated.sh

.PHONY: verify-mod
verify-mod: ## Fail when go.mod or go.sum are not tidy.
	go mod tidy -diff
	go -C hack/tools/envtest mod tidy -diff
	go -C hack/tools/seaweedfs mod tidy -diff
	go -C hack/tools/image mod tidy -diff
	go -C hack/tools/release mod tidy -diff
	go -C test/install mod tidy -diff

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest (only when missing) and print their directory.
	@hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)"

.PHONY: seaweedfs
seaweedfs: ## Build SeaweedFS's weed, the tests' S3 server, into a cache outside the repository (only when missing) and print its path.
	@hack/seaweedfs.sh

.PHONY: test
test: verify-generated verify-mod fmt vet lint lint-workflows ## Check generated files, formatting and lints, then run every test against a real API server (and SeaweedFS).
	@# The S3 server is built before the tests (minutes, once), not inside one under its timeout.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
	SEAWEEDFS_BIN="$$(hack/seaweedfs.sh)" \
		go test ./... -count=1 $(TEST_ARGS)
	@# The installers (Helm chart, dist/install.yaml) and the image builder are modules of
	@# their own, so the Helm SDK and go-containerregistry stay out of go.mod.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go -C test/install test ./... -count=1 $(TEST_ARGS)
	go -C hack/tools/image test ./... -count=1 $(TEST_ARGS)
	@# Two releases of the same commit, compared byte for byte (SPEC §14).
	go -C hack/tools/release test ./... -count=1 $(TEST_ARGS)
	@# Each benchmark once, so they keep compiling and working.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go test ./internal/... -count=1 -run '^$$' -bench . -benchtime 1x
	$(MAKE) --no-print-directory fuzz

.PHONY: test-e2e
test-e2e: manifests ## Build the manager and drive it with kubectl and HTTP against a local control plane (and SeaweedFS), webhooks on.
	@# As in test: the S3 server is built before the tests, not under their timeout.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
	SEAWEEDFS_BIN="$$(hack/seaweedfs.sh)" \
		go test -tags e2e ./test/e2e -count=1 -v $(TEST_ARGS)

.PHONY: bench
bench: build ## Measure the SPEC §9 targets on a local control plane; writes bench/RESULTS.md (not part of test).
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go run ./test/perf --manager bin/manager --results bench/RESULTS.md --profile-dir $(BENCH_PROFILES) $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: build ## The scaling curve: rows 1a, 2, 4, 5 at SCALE_SIZES pairs, each on a fresh control plane; writes bench/SCALING.md and profiles (not part of test).
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go run ./test/perf --manager bin/manager --scale-sizes $(SCALE_SIZES) --scale-results bench/SCALING.md --profile-dir $(SCALE_PROFILES) $(BENCH_ARGS)

.PHONY: soak
soak: build ## Two replicas for SOAK_MINUTES (30), the lease moved every 30 s, downloads and link churn; trends of RSS, heap, goroutines, fds in bench/SOAK.md.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh "$(ENVTEST_K8S_VERSION)" "$(ENVTEST_ASSETS)")" \
		go run ./test/perf --manager bin/manager --soak-minutes $(SOAK_MINUTES) --soak-results bench/SOAK.md $(BENCH_ARGS)

.PHONY: fuzz-long
fuzz-long: ## Fuzz every parser of untrusted input for a million executions each (not part of test).
	$(MAKE) --no-print-directory fuzz FUZZTIME=1000000x

.PHONY: fuzz
fuzz: ## Fuzz the URL token parser, the fast path's request-head recognizer and the audit log's X-Forwarded-For walk for FUZZTIME each.
	go test ./internal/signing -run '^$$' -fuzz FuzzTokenFromPath -fuzztime $(FUZZTIME)
	go test ./internal/requesthead -run '^$$' -fuzz FuzzParsePlain -fuzztime $(FUZZTIME)
	go test ./internal/linkserver/clientip -run '^$$' -fuzz FuzzClient -fuzztime $(FUZZTIME)

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

.PHONY: image
image: ## Build the manager for linux/amd64 and linux/arm64 into an OCI image tarball, IMAGE_TAR, without Docker.
	@for p in linux/amd64 linux/arm64; do \
		echo "building bin/$${p%/*}_$${p#*/}/manager"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -trimpath -ldflags='-s -w' -o $(LOCALBIN)/$${p%/*}_$${p#*/}/manager . || exit 1; \
	done
	go -C hack/tools/image run . --image "$(IMG)" --output "$(IMAGE_TAR)" \
		--binary linux/amd64=$(LOCALBIN)/linux_amd64/manager --binary linux/arm64=$(LOCALBIN)/linux_arm64/manager \
		$(if $(wildcard /etc/ssl/certs/ca-certificates.crt),--ca-bundle /etc/ssl/certs/ca-certificates.crt) \
		--label org.opencontainers.image.title=filelink-operator \
		--label org.opencontainers.image.source=https://github.com/filelink-dev/filelink-operator \
		--label org.opencontainers.image.revision=$(IMAGE_REVISION)
	go -C hack/tools/image run . verify "$(IMAGE_TAR)"

.PHONY: release
release: ## Write a release into DIST (dist/): image tarball and digest, install.yaml and chart pinned to it, SBOM, SHA256SUMS. VERSION=vX.Y.Z required.
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=vX.Y.Z [IMAGE_REPO=registry.example.com/filelink-operator] [DIST=dist]" >&2; exit 1; }
	hack/release.sh "$(VERSION)" "$(DIST)" "$(IMAGE_REPO)"

.PHONY: docker-build
docker-build: ## Build the image with a Docker daemon instead (the second way; make image needs none).
	docker build -t "$(IMG)" .

.PHONY: build-installer
build-installer: manifests ## Render config/default with IMG into dist/install.yaml.
	hack/build-installer.sh "$(IMG)" dist/install.yaml

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
