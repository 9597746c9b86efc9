# podnet: build, test and demo. Every target installs the Debian packages it
# needs when they are missing, so a fresh Debian 12 machine (as root) only needs Swift.

SWIFT        ?= swift
CONFIG       ?= debug
DEB_PACKAGES := libiptc-dev libmnl-dev libyaml-dev iptables iproute2 pkg-config conntrack strace iputils-ping python3 nftables \
                ipset podman runc containernetworking-plugins busybox-static
BIN          := .build/$(CONFIG)/podnet

.PHONY: all deps build release release-check test unit demo e2e cni-e2e install clean bench bench-cni fuzz

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

# The binary to put on nodes: optimized, with the Swift runtime (and FoundationEssentials)
# linked in, so a node needs only libip4tc, libip6tc, libmnl and libyaml (and it starts
# in a fraction of the time: no dozen Swift libraries to load and bind). Written to
# .build/release/podnet.
# libstdc++, the Swift runtime's C++ library, is linked in too: binding libstdc++.so's
# symbols at start-up was half of what a CNI request's process start executed
# (callgrind, `podnet` answering VERSION: 3.8M instructions with libstdc++.so, 1.9M
# without). The linker finds the archive through a linker script named libstdc++.so
# in STATIC_CXX_DIR, searched before the system's.
# The binary is linked as a position-dependent executable (-no-pie), as Go links the
# reference CNI plugins (Debian's /usr/lib/cni/bridge is one): a PIE of podnet's size makes
# the loader apply 43,408 relative relocations at every start, and the pages they write are
# copied on write. Measured with `perf stat -r 30` of `podnet` answering CNI VERSION:
# 4.00 ms CPU, 406 page faults, 4.31 ms elapsed as a PIE; 2.41 ms, 288, 3.33 ms without.
# Every CNI request is a process start. (Shared libraries keep their own ASLR.)
# Concrete generic types get their metadata from accessor functions the compiler writes
# (-disable-concrete-type-metadata-mangled-name-accessors) instead of from their mangled
# names, which the runtime demangles at first use and whose generic requirements it proves
# by scanning all 4,220 protocol conformance records of the binary, once per type and
# protocol. callgrind of a CNI ADD on a node with three pods: 5.65M instructions with
# mangled names, 3.37M without; VERSION 1.33M and 1.02M; 25 alternating ADDs per side,
# median 7.0-7.6 ms with them, 6.3-7.2 ms without (the binary grows by 0.4%).
STATIC_CXX_DIR := $(CURDIR)/.build-static-cxx
RELEASE_FLAGS  := -c release --static-swift-stdlib -Xlinker -L$(STATIC_CXX_DIR) -Xlinker -no-pie \
                  -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
$(STATIC_CXX_DIR)/libstdc++.so:
	mkdir -p $(STATIC_CXX_DIR)
	echo "INPUT($$(clang -print-file-name=libstdc++.a))" > $@
release: deps $(STATIC_CXX_DIR)/libstdc++.so
	$(SWIFT) build $(RELEASE_FLAGS) --product podnet

# The node binary builds, starts without the Swift toolchain's libraries, and renders
# every golden fixture byte for byte as rules/*.rules pins it.
release-check: release
	@! ldd .build/release/podnet | grep -q libswiftCore || { echo "release binary links libswiftCore"; exit 1; }
	@! ldd .build/release/podnet | grep -q libstdc++ || { echo "release binary links libstdc++.so"; exit 1; }
	@# Full Foundation (ICU, thousands of conformances scanned at every first dynamic cast)
	@# doubles the start-up of every command: only FoundationEssentials belongs in it.
	@! nm .build/release/podnet | grep -q 'FoundationInternationalization' \
	  || { echo "release binary links the full Foundation (import FoundationEssentials instead)"; exit 1; }
	@readelf -h .build/release/podnet | grep -q 'Type: *EXEC' \
	  || { echo "release binary is a PIE (RELEASE_FLAGS: -no-pie)"; exit 1; }
	.build/release/podnet --version
	@for config in fixtures/*.yaml; do \
	  name=$$(basename $$config .yaml); args="-f $$config"; \
	  [ -f fixtures/$$name.nodes.json ] && args="$$args --nodes fixtures/$$name.nodes.json"; \
	  .build/release/podnet render $$args | diff -u rules/$$name.rules - || exit 1; \
	done; echo "release binary: every fixture renders as its rules/*.rules"

# Every test: unit tests without root, kernel tests in throwaway network namespaces.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) fuzz FUZZ_SECONDS=20
	$(MAKE) e2e
	$(MAKE) cni-e2e
	$(MAKE) release-check

# libFuzzer on the iptables entry decoder, built straight from the codec's sources
# (it needs no libiptc) with its own build directory; seeds are real kernel entries.
FUZZ_SECONDS ?= 120
FUZZ_DIR     := .build-fuzz
fuzz:
	mkdir -p $(FUZZ_DIR)/corpus fuzz-artifacts
	swiftc -parse-as-library -sanitize=fuzzer -O -module-name PodNet -emit-module \
	  -emit-module-path $(FUZZ_DIR)/PodNet.swiftmodule -emit-library -static \
	  -o $(FUZZ_DIR)/libPodNet.a Sources/PodNet/*.swift
	swiftc -parse-as-library -sanitize=fuzzer -O -I $(FUZZ_DIR) -module-name EntryDecoderFuzz \
	  Sources/PodNetIptables/Codec/*.swift Tests/Fuzz/EntryDecoderFuzz.swift $(FUZZ_DIR)/libPodNet.a \
	  -o $(FUZZ_DIR)/entry-decoder-fuzz
	cp Tests/Fuzz/corpus/* $(FUZZ_DIR)/corpus/
	$(FUZZ_DIR)/entry-decoder-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=5 \
	  -artifact_prefix=fuzz-artifacts/ $(FUZZ_DIR)/corpus

# A two-node cluster with pods and an outside host in throwaway network namespaces:
# podnet diff, podnet apply, pod-to-pod and masqueraded pod-to-outside traffic, then
# everything removed (also on failure or ^C). Needs root.
demo: build
	@PODNET=$(BIN) bash Tests/e2e/demo.sh

# End to end on the real kernel: three dual-stack nodes, six pods, an outside host;
# then NetworkPolicy truth tables (namespaces x, y, z, pods a, b, c over three nodes,
# the 9 x 9 matrix per case); one PASS/FAIL line per check, non-zero exit when any
# fails. Needs root.
e2e: build
	PODNET=$(BIN) bash Tests/e2e/e2e.sh
	PODNET=$(BIN) bash Tests/e2e/netpol.sh

# podnet as the CNI plugin of a real podman 4.3 (network_backend = "cni", a local busybox
# image), the reference plugins configured as kubenet did side by side as the control,
# then 100 parallel ADDs and DELs. Needs root.
cni-e2e: build
	PODNET=$(BIN) bash Tests/e2e/cni.sh

# The node binary in /usr/local/sbin, linked into the runtimes' CNI directories as the
# `podnet` plugin, and an example conflist (not put where a runtime would load it).
PREFIX_DIR  ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
install: release
	install -d $(DESTDIR)$(PREFIX_DIR)/sbin $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)/etc/podnet
	install -m 0755 .build/release/podnet $(DESTDIR)$(PREFIX_DIR)/sbin/podnet
	ln -sf $(PREFIX_DIR)/sbin/podnet $(DESTDIR)$(CNI_BIN_DIR)/podnet
	install -m 0644 fixtures/cni/podnet.conflist $(DESTDIR)/etc/podnet/podnet.conflist.example
	@echo "podnet installed; the example conflist is /etc/podnet/podnet.conflist.example"

# podnet side by side with iptables-legacy-restore, ip -batch and Python at 5,000-node
# scale (Tests/Bench/bench.py): a release build, then one table, also written to
# BENCHMARKS.md; exits non-zero when a goal is missed. Needs root (network namespaces).
BENCH_PACKAGES := time valgrind gcc libc6-dev binutils python3 util-linux
BENCH_SCRATCH  ?= .build-bench
BENCH_RUNS     ?= 7

bench: deps $(STATIC_CXX_DIR)/libstdc++.so
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build $(RELEASE_FLAGS) --scratch-path $(BENCH_SCRATCH) --product podnet
	python3 Tests/Bench/bench.py --podnet $(BENCH_SCRATCH)/release/podnet --runs $(BENCH_RUNS) --out BENCHMARKS.md

# podnet as a CNI plugin against the reference chain (bridge + host-local + portmap as
# kubenet configured them): ADD, DEL, ADD beside 50,000 nat rules (with and without a host
# port), 100 parallel ADDs; an ADD on a node with NetworkPolicy against one without it,
# and until its pod can talk there (podnet watch ending its wait) against the chain's ADD;
# medians and IQR, exit 1 when a goal is missed. Needs root.
bench-cni: deps $(STATIC_CXX_DIR)/libstdc++.so
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build $(RELEASE_FLAGS) --scratch-path $(BENCH_SCRATCH) --product podnet
	python3 Tests/Bench/cni_bench.py --podnet $(BENCH_SCRATCH)/release/podnet --runs $(BENCH_RUNS)

clean:
	rm -rf .build
