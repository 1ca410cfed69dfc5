# Verkosto: common development tasks. Run `make help` for the list.

GO       ?= go
TIMEOUT  ?= 20m
TESTFLAGS ?=

.PHONY: help run demo test generate lint check-generated ci

help:
	@echo "make run              run all services (embedded PostgreSQL and NATS unless DATABASE_URL / NATS_URL)"
	@echo "make demo             run with demo data and print demo credentials"
	@echo "make test             run every test (TESTFLAGS=..., TIMEOUT=$(TIMEOUT))"
	@echo "make generate         regenerate gen/ from proto/"
	@echo "make lint             gofmt, go vet, buf lint"
	@echo "make check-generated  fail when gen/ is not what proto/ generates"
	@echo "make ci               everything CI runs (.ci/run)"

run:
	$(GO) run ./cmd/verkosto serve

demo:
	$(GO) run ./cmd/verkosto demo

test:
	$(GO) test -timeout $(TIMEOUT) $(TESTFLAGS) ./...

generate:
	$(GO) tool buf generate

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...
	$(GO) tool buf lint

check-generated: generate
	@git diff --exit-code -- gen || { echo "gen/ is stale: run make generate and commit the result"; exit 1; }
	@untracked="$$(git ls-files --others --exclude-standard -- gen)"; \
	if [ -n "$$untracked" ]; then \
		echo "gen/ has untracked generated files (commit them):"; echo "$$untracked"; exit 1; \
	fi

ci:
	bash .ci/run
