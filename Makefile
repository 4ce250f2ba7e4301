# kubeharden — see README.md.
GO ?= go

# kustomize's API links Go's plugin package (for its legacy Go plugins,
# which kubeharden never loads) unless this tag is set; linking it keeps
# every exported method and the dynamic symbol table: the binary is 28 MB
# larger and a server's resident size 32 MB higher. Every build and test
# here, and the Dockerfile, sets it.
export GOFLAGS := -tags=kustomize_disable_go_plugin_support $(GOFLAGS)

.PHONY: all build test bench bench-cluster bench-admission bench-runtime docs deploy fuzz examples kube-bins

all: build

build:
	$(GO) build -o bin/kubeharden ./cmd/kubeharden

# The whole test suite: vet, every unit/fixture/golden/integration test, and
# the public-contract check when the shared tools are beside the repository.
test: kube-bins
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	@if [ -x ../shared/tools/contract-check ]; then ../shared/tools/contract-check; else echo "contract-check not present; skipped"; fi

# kube-apiserver, kube-controller-manager v1.37.2 and etcd v3.7.0 for the
# cluster integration tests, built once from the Go module proxy into
# .cache/kube (never rebuilt when present).
kube-bins:
	./hack/kube/build.sh

# Scan time and peak memory against a bare YAML decode, at 1k/10k/100k/1M
# objects; BASELINE=REV also measures the kubeharden of git revision REV.
bench:
	$(GO) run ./hack/bench $(if $(BASELINE),-baseline $(BASELINE))

# Cluster scan time and peak memory against a plain paginated LIST, on a
# real API server filled with 20,000+ objects.
bench-cluster: kube-bins
	$(GO) run ./hack/bench/cluster

# The admission webhook under a steady open-loop load over loopback TLS:
# achieved rate, latency percentiles, errors, server heap and RSS.
ADMISSION_RPS ?= 1000
ADMISSION_DURATION ?= 60s
bench-admission:
	$(GO) run ./hack/bench/admission -rps $(ADMISSION_RPS) -duration $(ADMISSION_DURATION)

# The runtime watcher under synthetic exec storms (root, about 30 s): executions
# per second generated and received, connector losses, judged vs counted-only,
# CPU per execution, RSS, idle CPU.
bench-runtime:
	KH_STORM=1 $(GO) test ./procwatch -run '^TestExecStorm$$' -count=1 -v

# Regenerate docs/checks from the check metadata.
docs:
	$(GO) test ./internal/checkdoc -run TestDocsCurrent -update

# Regenerate the ClusterRole rules in deploy/ from the kind registry.
deploy:
	$(GO) test ./internal/deploygen -run TestDeployCurrent -update

# Fuzz the manifest loader and the audit policy analysis; new failing inputs land in
# source/manifest/testdata/fuzz and auditpolicy/testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./source/manifest -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	$(GO) test ./auditpolicy -run '^$$' -fuzz FuzzPolicy -fuzztime $(FUZZTIME)

examples:
	$(GO) run ./cmd/kubeharden scan examples/
