# codexgate — `make test` and `make dev` are the two commands; see README.md.

GO        ?= go
GOOS      ?= linux
GOARCH    ?= arm64
# One Lambda function per directory under functions/ (template.yaml names the same).
FUNCTIONS := $(notdir $(wildcard functions/*))
PKGS      ?= ./...
STACK     := bash scripts/with-stack.sh
# The release (VERSION), linked into every binary: `codexgate version`, the
# functions' cold-start log line.
VERSION   := $(shell cat VERSION)
LDFLAGS   := -s -w -X github.com/codexgate/codexgate/shared/version.linked=$(VERSION)

# Tools that scripts/tools.sh installs outside the system PATH: Python tools
# in a virtual environment, aws-lambda-rie in GOPATH, Codex CLI via npm.
export PATH := $(CURDIR)/.tools/py/bin:$(shell $(GO) env GOPATH)/bin:$(CURDIR)/.tools/codex/node_modules/.bin:$(PATH)

.PHONY: all test build dev deploy package release bench reliability tools clean distclean

all: build

## test: go vet, go test -race and cfn-lint, against a throwaway moto stack.
# The recipe execs the stack script so make's own signals reach it directly.
test: tools
	exec $(STACK) sh -c '$(GO) vet $(PKGS) && $(GO) test -race -count=1 $(TESTFLAGS) $(PKGS) && cfn-lint template.yaml'

## build: Lambda artefacts build/<function>/bootstrap (linux/$(GOARCH), static).
build:
	@mkdir -p build && [ -f build/.gitignore ] || echo '*' > build/.gitignore
	@set -e; for fn in $(FUNCTIONS); do \
		echo "build/$$fn/bootstrap"; \
		CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -tags lambda.norpc \
			-trimpath -ldflags='$(LDFLAGS)' -o build/$$fn/bootstrap ./functions/$$fn; \
	done

## dev: the main job, run locally against the moto stack (scripts/dev.sh):
## your ~/.codex/auth.json, or a labelled demo with the simulator; Ctrl-C stops all.
## It installs only what it runs (moto, the aws CLI); it builds codexgate itself.
dev:
	@bash scripts/tools.sh aws
	exec $(STACK) bash scripts/dev.sh

## deploy: sam build + sam deploy to your AWS account (scripts/deploy.sh; needs SAM CLI >= 1.158.0),
## then prints the endpoint and next steps. STACK, AWS_REGION, ALARM_EMAIL, EXISTING_TABLE, PARAMS, YES=1.
deploy:
	exec bash scripts/deploy.sh

## package: sam build + sam package for the Serverless Application Repository
## (scripts/package.sh; needs SAM CLI >= 1.158.0 and BUCKET=<s3 bucket>); writes build/packaged.yaml.
package:
	exec bash scripts/package.sh

## release: the CLI for linux/darwin x amd64/arm64 and the functions' Lambda zips,
## with SHA256SUMS, in build/release/$(VERSION)/ (scripts/release.sh; CHANGELOG.md must name the version).
release:
	exec bash scripts/release.sh

## bench: latency/CPU/memory, AWS calls, refresh storm, cold start, cost (docs/DESIGN.md §9) → docs/BENCHMARKS.md.
bench:
	@bash scripts/tools.sh aws rie
	exec $(STACK) bash scripts/bench.sh

## reliability: fault matrix, kills, deadlines, soak → docs/RELIABILITY.md.
reliability:
	@bash scripts/tools.sh aws rie
	exec $(STACK) bash scripts/reliability.sh

## tools: install everything make test needs that a fresh machine lacks (quick when all
## are present): Python tools in .tools/py, aws-lambda-rie, the pinned test clients in .tools/,
## chromium (apt-get) for the console test.
tools:
	@bash scripts/tools.sh

clean:
	rm -rf build

distclean: clean
	rm -rf .tools
