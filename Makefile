# ferry: see README.md. Every target works on a fresh clone with Go 1.26 and gcc.

GO        ?= go
BIN       := bin/ferry
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# DuckDB's Go bindings link with -rdynamic, which exports DuckDB's 60,000
# symbols for run-time extensions to link against; ferry loads none (its
# extensions are built in), and the export made every call 2 ms slower to
# start (ferry version 11.6 -> 9.5 ms; inspect --sql 'SELECT 1' 34.2 -> 31.5).
ifeq ($(shell uname -s),Linux)
LDFLAGS   += -extldflags=-Wl,--no-export-dynamic
endif
# How long each fuzz target runs in `make test` (longer: make fuzz FUZZTIME=10m).
# scripts/fuzz.sh says how a run is judged.
FUZZTIME  ?= 15s
# Fuzz targets as package:Function.
FUZZ_TARGETS := ./archive:FuzzReader ./archive:FuzzManifest ./confluencexml:FuzzParse ./confluencexml:FuzzFolder ./cloud:FuzzAnswers ./inspect:FuzzStatements

.PHONY: build test unit fuzz test-long bench bench-long torture demo lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ferry

# Unit and CLI tests, then a short run of every fuzz target.
test: unit fuzz

unit:
	$(GO) test -short -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		scripts/fuzz.sh $${t%%:*} $${t##*:} $(FUZZTIME) || exit 1; \
	done

# The long versions: every byte of the test archive flipped, not 2,000.
test-long:
	$(GO) test -count=1 ./...

# End to end at three site sizes (FERRY_BENCH_SIZES pages; the largest has
# over a million page versions and 2 GB of attachments), each step against
# a baseline measured in the same run on the same data, written to
# bench/results.md and bench/results.json; then the micro-benchmarks:
# archive reading and writing against zstd alone, and a Cloud export
# against a rate-limited sandbox, and a 500 MB XML export's conversion
# against a bare token scan of it.
FERRY_BENCH_SIZES ?= 4000,40000,400000
bench: build
	$(GO) run ./cmd/bench --ferry $(BIN) --sizes $(FERRY_BENCH_SIZES) --attachment-bytes-per-page 5250 --out bench/results.md
	@mkdir -p bench/out
	$(GO) test ./archive -run '^$$' -bench 'Events|Blobs|Open' -benchtime 4x | tee bench/out/archive.txt
	$(GO) test ./export -run '^$$' -bench CloudExportRateLimited -benchtime 1x | tee bench/out/cloud.txt
	$(GO) test ./import -run '^$$' -bench CloudImportRateLimited -benchtime 1x -timeout 20m | tee bench/out/cloud-import.txt
	$(GO) test ./confluencexml -run '^$$' -bench Convert -benchtime 1x -timeout 60m | tee bench/out/xml.txt

# The long ones: peak memory while writing a 2 GB archive (FERRY_BENCH_GB),
# import against raw inserts, inspect at a million events, and export and
# import memory at two site sizes.
bench-long: build
	@mkdir -p bench/out
	$(GO) test ./archive -run '^$$' -bench 'WritePeakMemory' -benchtime 1x -timeout 60m | tee bench/out/peak-memory.txt
	$(GO) test ./import -run '^$$' -bench ImportVsRaw -benchtime 3x | tee bench/out/import.txt
	FERRY_BENCH_PAGES=$${FERRY_BENCH_PAGES:-140000} $(GO) test ./inspect -run '^$$' -bench InspectVsReadJSON -benchtime 2x -timeout 60m | tee bench/out/inspect.txt
	./scripts/bench-sites.sh $(BIN) | tee bench/out/sites.txt

# Crashes, corruption, faults, a full disk and fuzzing, at full strength
# (TORTURE_FLAGS=--short for the version CI runs; see go run ./cmd/torture -h).
torture: build
	$(GO) run ./cmd/torture --ferry $(BIN) $(TORTURE_FLAGS)

demo: build
	$(BIN) demo --dir demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin bench/out demo
