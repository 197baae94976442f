# circuitsweep: `make demo` runs a small sweep; `make test` runs every test.
# Tests build once, optimised with testing enabled: numeric tests are 10-100x slower in debug.
SWIFT_FLAGS := -c release -Xswiftc -enable-testing
SCRATCH ?= .build

.PHONY: deps build test demo clean

deps:
	bash cluster/install-deps.sh

build: deps
	swift build $(SWIFT_FLAGS) --scratch-path $(SCRATCH) --product circuitsweep

test: deps
	swift build $(SWIFT_FLAGS) --scratch-path $(SCRATCH) --build-tests
	swift test $(SWIFT_FLAGS) --scratch-path $(SCRATCH) --skip-build

demo: build
	bash cluster/demo.sh

clean:
	rm -rf $(SCRATCH)
