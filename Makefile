# podnet: build, test and demo. Every target installs the Debian packages it
# needs when they are missing, so a fresh Debian 12 machine (as root) only needs Swift.

SWIFT        ?= swift
CONFIG       ?= debug
DEB_PACKAGES := libiptc-dev libmnl-dev iptables iproute2 pkg-config conntrack strace iputils-ping
BIN          := .build/$(CONFIG)/podnet
EXAMPLE      ?= fixtures/dual-stack.yaml

.PHONY: all deps build test unit demo clean

all: build

# Install only what is missing; apt-get update runs only when something is.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

# Every test: unit tests without root, kernel tests in throwaway network namespaces.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	@echo "==> podnet render -f $(EXAMPLE)"
	@$(BIN) render -f $(EXAMPLE)

clean:
	rm -rf .build
