# stratolab: the README's commands call these targets.
#
#   make synth      install what is needed, then synthesize the example instance offline
#   make test       everything CI runs: gofmt, go vet, go test, validate (a real `cdk synth` of every instance)
#   make snapshot   rewrite test/testdata/snapshots after an intended change (then read the diff)
#   make validate   `npx cdk synth` of every instance with aws-cdk-lib's CloudFormation validation on
#   make bench      median synth time of the example instance against an empty CDK app; the registry's benchmarks
#   make schema     regenerate instance/schema.json from the Go types
#   make charts-check  render the Hub stack's Helm releases with their charts (from git mirrors) and check them

SHELL          := /bin/bash
INSTANCE       ?= example
INSTANCES      := $(sort $(basename $(notdir $(filter-out instance/default.yaml,$(wildcard instance/*.yaml)))))
GO_FILES        = $(shell find . -name '*.go' -not -path './node_modules/*' -not -path './cdk.out/*' -not -path './.build/*')
CDK            := npx --no-install cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: deps synth test fmt-check vet unit validate snapshot bench schema clean charts-check

# deps installs the pinned CDK CLI and the Go modules. npm ci runs again only when the lock file changes.
deps: node_modules/.package-lock.json
	@go mod download

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

synth: deps
	CDK_VALIDATION=false $(CDK) synth -c instance=$(INSTANCE) -q

test: deps fmt-check vet unit validate

fmt-check:
	@out=$$(gofmt -l $(GO_FILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...
	cd examples/kotta-store && go vet ./...

# The first CDK test synthesizes every instance, which builds every Go Lambda and the worker agent; on a
# cold build cache that alone takes minutes, so the package gets more than go test's default 10 minutes.
unit:
	go test -timeout 30m ./...

# validate synthesizes every instance through the real CLI, as a user would, with aws-cdk-lib's
# CloudFormation validation on. An error (a cdk-nag finding, a validation error) fails the target.
validate: deps
	@set -e; for i in $(INSTANCES); do \
		echo "== cdk synth -c instance=$$i (CloudFormation validation on)"; \
		CDK_VALIDATION=true $(CDK) synth -c instance=$$i -q -o cdk.out/validate-$$i; \
	done

snapshot:
	UPDATE_SNAPSHOTS=1 go test ./test -run 'TestSnapshots' -count=1
	@git status --short test/testdata/snapshots

bench: deps
	@scripts/bench.sh
	@scripts/bench-registry.sh

schema:
	go run ./instance/schemagen instance/schema.json

# charts-check lays out the charts' source from git mirrors ($MIRRORS, default /work/.mirror) and the
# kubectl layer's helm under .build, then renders each release with `helm template` and checks the
# objects. A chart that is not at hand is skipped, with a message, not failed.
charts-check: deps
	scripts/charts-from-mirrors.sh
	go test ./test -run TestHubChartsRender -count=1 -v

clean:
	rm -rf cdk.out .build
