# The one test command (README, .ci/run): vet, the whole suite under the race
# detector, the end-to-end tests against the real binary (alone, so that no
# other package competes with their load for the CPUs), then each fuzz
# target for 20,000 inputs on top of its corpus (a count, not a time: a time
# limit can end in the fuzzer's own "context deadline exceeded" when a worker
# is still busy).
FUZZTIME ?= 20000x

.PHONY: test vet unit e2e fuzz build demo

test: vet unit e2e fuzz

# staticcheck is pinned and fetched through the module proxy (go run caches it).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	go vet ./...
	go run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# The timing comparison runs with the end-to-end tests: alone and without the
# race detector, whose instrumentation and parallel packages distort it.
unit:
	go test -race -count=1 -timeout 30m -skip '^TestSignInTiming|^TestRequestTiming' $$(go list ./... | grep -v /internal/e2e)

# Browser tests keep screenshots under test-output/<test>/<page>.png.
e2e:
	mkdir -p test-output
	go test -count=1 -timeout 30m ./internal/e2e
	go test -count=1 -timeout 30m -run '^TestSignInTiming|^TestRequestTiming' -v ./internal/auth

fuzz:
	go test -run='^$$' -fuzz='^FuzzParseBody$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzSafeRedirect$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzCallerCredentials$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzNumber$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/userimport
	go test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/password
	go test -run='^$$' -fuzz='^FuzzIDKeyInto$$' -fuzztime=$(FUZZTIME) ./internal/third_party/argon2
	go test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/token
	go test -run='^$$' -fuzz='^FuzzFromAcceptLanguage$$' -fuzztime=$(FUZZTIME) ./internal/i18n

build:
	@echo "building ./spaceauth (the first build compiles every dependency: a few minutes)"
	CGO_ENABLED=0 go build -trimpath -o spaceauth ./cmd/spaceauth

demo: build
	./spaceauth demo
