# The one test command (README, .ci/run): vet, the whole suite under the race
# detector, then each fuzz target for a few seconds on top of its corpus.
FUZZTIME ?= 5s

.PHONY: test vet unit fuzz build demo

test: vet unit fuzz

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

unit:
	go test -race -count=1 ./...

fuzz:
	go test -run='^$$' -fuzz='^FuzzParseBody$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzSafeRedirect$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzCallerCredentials$$' -fuzztime=$(FUZZTIME) ./internal/httpapi
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/userimport
	go test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/password
	go test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/token
	go test -run='^$$' -fuzz='^FuzzFromAcceptLanguage$$' -fuzztime=$(FUZZTIME) ./internal/i18n

build:
	CGO_ENABLED=0 go build -trimpath -o spaceauth ./cmd/spaceauth

demo:
	go run ./cmd/spaceauth demo
