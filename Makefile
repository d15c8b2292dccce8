# CityEye. `make demo` runs the embedded demo on real video; `make test` runs every test.
# Both install what they need first (.ci/setup.sh: idempotent, fast when done).
SHELL := /bin/bash
GO ?= go
export CITYEYE_HOME ?= $(HOME)/.cache/cityeye

.PHONY: setup build test faults demo bench bench-gpu vet clean console-shots

setup:
	@.ci/setup.sh

build:
	$(GO) build -o bin/cityeye ./cmd/cityeye

# vet: go vet, staticcheck (pinned, installed by setup) and a tidy go.mod.
# go ./... skips testdata folders: their packages are named here (vet and test).
TESTDATA_PKGS := ./testdata ./testdata/services ./testdata/testkit

vet:
	$(GO) vet ./... $(TESTDATA_PKGS)
	$(CITYEYE_HOME)/bin/staticcheck ./... $(TESTDATA_PKGS)
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy (go mod tidy -diff shows what differs)"; exit 1; }

test: setup vet
	CITYEYE_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 25m ./... $(TESTDATA_PKGS)

# faults: the fault tests alone (workers/faults: MinIO down 60 s, PostgreSQL down 30 s
# while a worker captures, about 2.5 min; cmd/cityeye: Redis, kill -9 of the leader, a
# worker cut off, the map's feed gap). `make test` runs them too, with ./...
# Results: docs/reliability.md.
faults: setup
	$(GO) test -count=1 -timeout 15m -v -run 'TestFault' ./workers/faults/ ./cmd/cityeye/

demo: setup
	./bin/cityeye demo

# console-shots re-takes the console's screenshots in docs/console (the browser test
# takes them at 1366x768; look at each before committing).
console-shots: setup
	CITYEYE_CONSOLE_SHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run TestConsoleInBrowser -v ./cmd/cityeye

# BENCH_FLAGS go to cmd/bench (the pipeline's CPU against decode + model baselines),
# e.g. BENCH_FLAGS='-frames 300 -rounds 3'; see docs/bench/pipeline.md.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

# bench-gpu: how many 1080p25 H.264 streams one GPU analyses in real time (NVDEC →
# batcher → nanodet on CUDA at 5 fps); refuses to run without a GPU. GPU_STREAMS is
# where the search starts. docs/bench/gpu.md.
GPU_STREAMS ?= 32
bench-gpu: setup
	$(GO) run ./cmd/bench -provider cuda -hwaccel cuda -streams $(GPU_STREAMS) $(BENCH_FLAGS)

clean:
	rm -rf bin data
