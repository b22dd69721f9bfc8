# hotline: `make run` starts a working hotline, `make test` proves it works.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -X main.version=$(VERSION)
PKGS    := ./...

.PHONY: build run test unit e2e fuzz race bench lint deps-run deps-test clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/hotline ./cmd/hotline

run: deps-run build
	./bin/hotline serve $(ARGS)

deps-run:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

# Everything: vet, unit and end-to-end tests (real sipp, baresip, PostgreSQL, Redis,
# Chromium), the race detector on the concurrent packages, the shipped flows' tests and short
# fuzz runs.
test: deps-test lint build
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) race
	./bin/hotline flow test
	$(MAKE) fuzz

# The race detector over the packages whose tests run in seconds (the end-to-end suites in
# center, sip and cmd/hotline pass under it too, in about four minutes more).
RACE_PKGS ?= ./acd/... ./cluster/... ./sip/media/... ./ari/... ./dashboard/... ./customers/... ./ivr/... ./call/... ./reports/... ./recordings/... ./config/... ./audio/... ./journey/... ./waitroom/... ./callbacks/... ./agents/... ./conversation/... ./schedule/... ./prompts/... ./internal/fakeclock/... ./internal/callgen/...
race:
	$(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)

# Every parser of outside input has a fuzz target; each runs FUZZTIME inputs here. A count,
# not a duration: Go 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when a duration ends while a worker is busy (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 60000x
FUZZ = $(GO) test -run '^$$' -fuzzminimizetime 5s -fuzztime $(FUZZTIME) -fuzz
fuzz:
	$(FUZZ) '^FuzzParseSDP$$' ./sip/media
	$(FUZZ) '^FuzzDTMFPayload$$' ./sip/media
	$(FUZZ) '^FuzzRTCP$$' ./sip/media
	$(FUZZ) '^FuzzReadWAV$$' ./audio
	$(FUZZ) '^FuzzInvite$$' ./sip
	$(FUZZ) '^FuzzReferTo$$' ./sip
	$(FUZZ) '^FuzzRawRefusal$$' ./sip
	$(FUZZ) '^FuzzLoadFlow$$' ./ivr
	$(FUZZ) '^FuzzNormalizeNumber$$' ./customers
	$(FUZZ) '^FuzzParseWebhook$$' ./customers
	$(FUZZ) '^FuzzReadWAVInfo$$' ./audio
	$(FUZZ) '^FuzzDecodeWAVChannels$$' ./audio
	$(FUZZ) '^FuzzEvent$$' ./ari
	$(FUZZ) '^FuzzAgentFromName$$' ./ari
	$(FUZZ) '^FuzzCompile$$' ./schedule
	$(FUZZ) '^FuzzParse$$' ./internal/callgen
	$(FUZZ) '^FuzzCheckpoint$$' ./acd

# Speed and memory targets: Go benchmarks, then runs against a live server pinned to one core
# (docs/benchmarks.md says what each prints and how to read it): the call-rate ramp, IVR calls
# and held RTP streams measured by callgen, the sipp load run and the flood.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./audio ./sip/media ./acd ./sip ./cluster
	scripts/rate.sh
	scripts/ivr.sh
	scripts/streams.sh
	scripts/load.sh
	scripts/flood.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin data
