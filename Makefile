# SPDX-License-Identifier: GPL-2.0-only
#
# kvmscope: plain GNU make.  `make` builds; `make run` installs what is
# missing, builds and runs the daemon; `make test` installs, builds and
# runs the whole suite.

VERSION := 0.1.0
CLANG ?= clang
BPFTOOL ?= bpftool
HOSTCC ?= gcc

# The kernel architecture built for: this machine's, or ARCH=arm64 on an
# x86_64 machine, a cross build (Debian's gcc-aarch64-linux-gnu and the
# arm64 libraries installed beside the amd64 ones: scripts/install-deps
# arm64) in build/arm64, for the arm64 lab or an arm64 host.
HOST_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/s390x/s390/')
ARCH ?= $(HOST_ARCH)
ifneq ($(ARCH),$(HOST_ARCH))
ifneq ($(ARCH),arm64)
$(error ARCH=$(ARCH): the only cross build is ARCH=arm64 (this machine is $(HOST_ARCH)))
endif
CROSS_COMPILE ?= aarch64-linux-gnu-
MULTIARCH ?= aarch64-linux-gnu
CROSS := 1
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(MULTIARCH)/pkgconfig:/usr/share/pkgconfig pkg-config
BUILD ?= build/$(ARCH)
# The arm64 kernel's BTF, cut out of the arm64 lab's kernel image
# (scripts/image-btf.c): the lab kernels are cached in LAB_BUILD/lab.
LAB_BUILD ?= build
VMLINUX_BTF_KERNEL ?= 6.12
VMLINUX_BTF ?= $(BUILD)/vmlinux.btf
else
CC ?= gcc
PKG_CONFIG ?= pkg-config
BUILD ?= build
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
endif
VMLINUX_H ?= $(BUILD)/vmlinux.h

# Warnings on everywhere; errors when CI is set.
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Wmissing-prototypes
ifneq ($(CI),)
WARN += -Werror
endif

LIBS_PC := libbpf jansson libmicrohttpd libsystemd inih
# Recursive (=): pkg-config runs only once the packages are installed.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIBS_PC))
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_PC)) -lelf -lz -lm
# kvmscopectl top only: the daemon and the tests do not link curses.
NCURSES_CFLAGS = $(shell $(PKG_CONFIG) --cflags ncursesw)
NCURSES_LIBS = $(shell $(PKG_CONFIG) --libs ncursesw)

CFLAGS ?= -O2 -g
# SANITIZE=1: ASan and UBSan in the daemon, the CLI, the guest and the tests
# (make test and make sanitize build such a copy in BUILD/asan and run the
# unit and integration tests with it: tests/run's "sanitize" part).
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -DKVMSCOPE_VERSION='"$(VERSION)"' \
	-Iinclude -Idaemon -I$(BUILD) $(PKG_CFLAGS)
BPF_CFLAGS := -target bpf -g -O2 -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(dir $(VMLINUX_H)) -Wall

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS)) $(BUILD)/exits_fast.skel.h \
	 $(BUILD)/ioctls_fast.skel.h

# Pure logic that the unit tests link against, no BPF or event loop in it.
CORE_SRCS := daemon/hist.c daemon/preempt.c daemon/decode.c daemon/rpc.c daemon/metrics.c daemon/vm_identity.c \
	daemon/strbuf.c daemon/options.c daemon/log.c daemon/tracefs.c daemon/linebuf.c daemon/traceline.c daemon/kvm_stats.c \
	daemon/exits/model.c daemon/ioctls/names.c daemon/ioctls/model.c daemon/pin.c daemon/pidns.c daemon/bpfstats.c \
	daemon/livepatch/sites.c daemon/livepatch/patches.c daemon/livepatch/textpoke.c \
	daemon/livepatch/modfile.c daemon/livepatch/manage.c daemon/kmod/handshake.c daemon/config.c
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRCS))
# The core in daemon/, each capability in its own folder (daemon/exits/, ...).
DAEMON_SRCS := $(filter-out $(CORE_SRCS),$(wildcard daemon/*.c daemon/*/*.c))
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRCS))
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
INTEG_BIN := $(BUILD)/tests/integration-tests
TOP_TEST_BIN := $(BUILD)/tests/top-tests
SERVER_TEST_BIN := $(BUILD)/tests/server-tests
CORE_TEST_BIN := $(BUILD)/tests/core-tests
FAULTS_TEST_BIN := $(BUILD)/tests/faults-tests
LAB_BIN := $(BUILD)/tests/lab-tests
CROSSCHECK_BIN := $(BUILD)/tests/crosscheck-tests
TEST_BINS := $(UNIT_BINS) $(INTEG_BIN) $(TOP_TEST_BIN) $(SERVER_TEST_BIN) $(CORE_TEST_BIN) $(FAULTS_TEST_BIN) \
	$(LAB_BIN) $(CROSSCHECK_BIN)
KERNEL ?= 6.1
GUEST_BIN := $(BUILD)/kvmscope-guest
# The test guest makes real exits: x86 code on x86, arm64 code on arm64.
ifeq ($(ARCH),arm64)
GUEST_SRC := tests/guest/kvmscope-guest-arm64.c
else
GUEST_SRC := tests/guest/kvmscope-guest.c
endif
# What the arm64 lab runs (tests/vm/inlab-arm64), built by make test on x86.
ARM64_TEST_BINS := $(BUILD)/tests/arm64-tests

# libFuzzer harnesses (tests/fuzz/): clang, ASan and UBSan, over the core's
# parsers built again with coverage.  `make fuzz` fuzzes, `make test`
# replays their corpora.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(CORE_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all $(WARN) -D_GNU_SOURCE -DKVMSCOPE_VERSION='"$(VERSION)"' \
	-Iinclude -Idaemon -I$(BUILD) $(PKG_CFLAGS)

.PHONY: valgrind sanitize sanitize-build analyze fuzz fuzz-build deb kmod kmod-clean all deps deps-build run test check unit integration vmtest vmshell bench bench-scale clean distclean help install
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/kvmscoped $(BUILD)/kvmscopectl $(GUEST_BIN)

help:
	@echo "make            build build/kvmscoped, build/kvmscopectl, build/kvmscope-guest"
	@echo "make run        install dependencies, build, run kvmscoped in the foreground"
	@echo "make test       install dependencies, build, run unit, integration and lab tests"
	@echo "make unit       unit tests only; make integration: root integration tests only"
	@echo "make sanitize   unit and integration tests again built with ASan and UBSan (BUILD/asan)"
	@echo "make valgrind   the integration suite with kvmscoped under valgrind memcheck (root)"
	@echo "make analyze    gcc -fanalyzer over the daemon and the CLI; a finding fails"
	@echo "make fuzz       each libFuzzer harness (tests/fuzz/) for FUZZ_SECONDS=60 (or FUZZ_RUNS=N executions, FUZZ_JOBS at a time), with a table"
	@echo "make vmtest     integration and lab suites inside the 6.1, 6.12 and sid lab kernels, and arm64's 6.12 and sid"
	@echo "make ARCH=arm64 cross-build for arm64 into build/arm64 (its vmlinux.h from the arm64 lab's kernel)"
	@echo "make vmshell    an interactive shell in the lab (KERNEL=6.1, 6.12 or sid)"
	@echo "make bench      exit rates under kvmscope, bpftrace, bcc kvmexit and perf, in the lab"
	@echo "make bench-scale  kvmscoped with 1,000 VMs in its maps and 200 real guests, here"
	@echo "make kmod       the helper module kvmscope.ko (KDIR=<kernel build tree>)"
	@echo "make install    binaries, systemd units, sysusers and tmpfiles, kvmscope.ko sources for DKMS (DESTDIR=, PREFIX=/usr)"
	@echo "make deb        a Debian package in BUILD/deb (debhelper, dh_installsystemd)"
	@echo "make clean      remove the build, keeping the downloaded lab kernels; distclean: all"
	@echo "variables       VMLINUX_BTF=<btf file> VMLINUX_H=<header> CI=1 (-Werror) BUILD=<dir>"

PREFIX ?= /usr
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system

# The daemon, the CLI, their man pages, the systemd units (kvmscoped.socket
# activates kvmscoped.service), the group kvmscope and the directories it needs.
install: all
	install -D -m 0755 $(BUILD)/kvmscoped $(DESTDIR)$(PREFIX)/sbin/kvmscoped
	install -D -m 0755 $(BUILD)/kvmscopectl $(DESTDIR)$(PREFIX)/bin/kvmscopectl
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/sbin/kvmscoped|$(PREFIX)/sbin/kvmscoped|' systemd/kvmscoped.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/kvmscoped.service
	install -m 0644 systemd/kvmscoped.socket $(DESTDIR)$(SYSTEMDUNITDIR)/kvmscoped.socket
	install -m 0644 systemd/kvmscope-bpffs.service $(DESTDIR)$(SYSTEMDUNITDIR)/kvmscope-bpffs.service
	install -D -m 0644 systemd/kvmscoped-modules.conf $(DESTDIR)$(PREFIX)/share/kvmscope/kvmscoped-modules.conf
	sed 's|/usr/bin/kvmscopectl|$(PREFIX)/bin/kvmscopectl|' systemd/kvmscope-patches.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/kvmscope-patches.service
	install -D -m 0644 systemd/sysusers.d/kvmscope.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/kvmscope.conf
	install -D -m 0644 systemd/tmpfiles.d/kvmscope.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/kvmscope.conf
	install -D -m 0644 man/kvmscoped.8 $(DESTDIR)$(PREFIX)/share/man/man8/kvmscoped.8
	install -D -m 0644 man/kvmscopectl.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmscopectl.1
	install -D -m 0644 man/kvmscoped.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/kvmscoped.conf.5
	@# The documented defaults, all commented; an edited file is left alone.
	install -d $(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscoped.conf.d
	test -e $(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscoped.conf || \
		install -m 0644 config/kvmscoped.conf $(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscoped.conf
	install -D -m 0644 completion/kvmscopectl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/kvmscopectl
	@# kvmscope.ko as source for DKMS (kmod/dkms.conf).
	install -d $(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/kmod \
		$(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/include/kvmscope \
		$(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/scripts
	install -m 0644 kmod/Kbuild kmod/*.c kmod/*.h $(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/kmod/
	install -m 0644 include/kvmscope/kmod.h include/kvmscope/canary.h include/kvmscope/exits.h \
		include/kvmscope/vmtrack.h \
		$(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/include/kvmscope/
	install -m 0755 scripts/schema-hash $(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/scripts/
	sed 's/@VERSION@/$(VERSION)/' kmod/dkms.conf > $(DESTDIR)$(PREFIX)/src/kvmscope-$(VERSION)/dkms.conf

# kvmscope.ko against KDIR (default: the running kernel's headers), built
# in a copy under $(BUILD)/kmod as the lab builds it: kbuild writes next
# to its sources.
KDIR ?= /lib/modules/$(shell uname -r)/build
kmod:
	@test -f $(KDIR)/Makefile || { echo "error: no kernel headers at $(KDIR): install linux-headers-$$(uname -r) or set KDIR=<kernel build tree> (this kernel: $$(if [ -e /proc/modules ]; then echo modules supported; else echo no module support, CONFIG_MODULES is off); build for another kernel with KDIR=)" >&2; exit 1; }
	@mkdir -p $(BUILD)/kmod
	cp -p kmod/Kbuild kmod/*.c kmod/*.h $(BUILD)/kmod/
	$(MAKE) -C $(KDIR) M=$(abspath $(BUILD)/kmod) KVMSCOPE_SRC=$(CURDIR) modules
	@echo "built $(BUILD)/kmod/kvmscope.ko; kvmscoped --kmod on --kmod-path $(abspath $(BUILD)/kmod/kvmscope.ko)"

kmod-clean:
	rm -rf $(BUILD)/kmod

# A Debian package of the working tree's tracked files, built in a copy
# under $(BUILD)/deb (dpkg-buildpackage writes next to the source tree),
# with DEB_JOBS parallel jobs (dpkg-buildpackage -J; default 1).
DEB_JOBS ?= 1
deb:
	@command -v dpkg-buildpackage > /dev/null && command -v dh > /dev/null || \
		{ echo "error: make deb needs dpkg-dev and debhelper (scripts/install-deps test)" >&2; exit 1; }
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/kvmscope-$(VERSION)
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(BUILD)/deb/kvmscope-$(VERSION)
	cd $(BUILD)/deb/kvmscope-$(VERSION) && dpkg-buildpackage -b -us -uc -J$(DEB_JOBS) > ../build.log 2>&1 || \
		{ tail -n 40 $(abspath $(BUILD))/deb/build.log >&2; exit 1; }
	@ls $(BUILD)/deb/*.deb

deps:
	@scripts/install-deps test

deps-build:
	@scripts/install-deps build

$(BUILD)/.dir:
	@mkdir -p $(BUILD)/bpf $(BUILD)/daemon $(BUILD)/cli $(BUILD)/tests
	@touch $@

ifeq ($(VMLINUX_H),$(BUILD)/vmlinux.h)
ifneq ($(CROSS),)
$(BUILD)/vmlinux.h: $(VMLINUX_BTF) | $(BUILD)/.dir
else
$(BUILD)/vmlinux.h: | $(BUILD)/.dir
endif
	@test -r $(VMLINUX_BTF) || { echo "error: no kernel BTF at $(VMLINUX_BTF): set VMLINUX_BTF=<file> or VMLINUX_H=<header>" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
endif

# Cross: the BTF of the arm64 lab's VMLINUX_BTF_KERNEL kernel (fetched into
# LAB_BUILD/lab by tests/vm/run, which needs root), out of its Image.
ifneq ($(CROSS),)
$(BUILD)/host/image-btf: scripts/image-btf.c | $(BUILD)/.dir
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -O2 $(WARN) -o $@ $<

$(BUILD)/vmlinux.btf: $(BUILD)/host/image-btf | $(BUILD)/.dir
	@image=$$(tests/vm/run --arch $(ARCH) --kernel $(VMLINUX_BTF_KERNEL) --build $(LAB_BUILD) --prepare | \
		sed -n 's/^IMAGE=//p'); \
	test -n "$$image" || { echo "error: no arm64 kernel image from tests/vm/run --arch $(ARCH) --prepare (root, and scripts/install-deps arm64, are needed; or set VMLINUX_BTF=<the arm64 kernel's BTF>)" >&2; exit 1; }; \
	$(BUILD)/host/image-btf "$$image" $@
endif

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard include/kvmscope/*.h bpf/*.h) | $(BUILD)/.dir
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The exits programs again, reading kernel memory through bpf_rdonly_cast()
# (Linux 6.17+); the daemon falls back to exits.bpf.o where it does not load.
$(BUILD)/bpf/exits_fast.bpf.o: bpf/exits.bpf.c $(VMLINUX_H) $(wildcard include/kvmscope/*.h bpf/*.h) | $(BUILD)/.dir
	$(CLANG) $(BPF_CFLAGS) -DKVMSCOPE_FAST_READS -c $< -o $@

# The ioctls programs again, preemption off in their bodies (Linux 6.10+);
# the daemon falls back to ioctls.bpf.o where it does not load.
$(BUILD)/bpf/ioctls_fast.bpf.o: bpf/ioctls.bpf.c $(VMLINUX_H) $(wildcard include/kvmscope/*.h bpf/*.h) | $(BUILD)/.dir
	$(CLANG) $(BPF_CFLAGS) -DKVMSCOPE_PREEMPT_OFF -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The schema hash of the headers the daemon shares with kvmscope.ko.
$(BUILD)/kvmscope_schema.h: include/kvmscope/kmod.h include/kvmscope/canary.h include/kvmscope/exits.h include/kvmscope/vmtrack.h scripts/schema-hash | $(BUILD)/.dir
	printf '/* Generated by scripts/schema-hash. */\n#define KVMSCOPE_SCHEMA_HASH 0x%sULL\n' \
		"$$(sh scripts/schema-hash .)" > $@

$(BUILD)/daemon/%.o: daemon/%.c $(wildcard daemon/*.h daemon/*/*.h include/kvmscope/*.h) $(SKELS) $(BUILD)/kvmscope_schema.h | $(BUILD)/.dir
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h daemon/*.h) | $(BUILD)/.dir
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/cli/top.o: ALL_CFLAGS += $(NCURSES_CFLAGS)

$(BUILD)/libkvmscope-core.a: $(CORE_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/kvmscoped: $(DAEMON_OBJS) $(BUILD)/libkvmscope-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/kvmscopectl: $(CLI_OBJS) $(BUILD)/libkvmscope-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(NCURSES_LIBS)

$(GUEST_BIN): $(GUEST_SRC) | $(BUILD)/.dir
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -pthread -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libkvmscope-core.a tests/unit/unit.h
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libkvmscope-core.a $(PKG_LIBS) -lcmocka

$(BUILD)/fuzz/daemon/%.o: daemon/%.c $(wildcard daemon/*.h daemon/*/*.h include/kvmscope/*.h) $(SKELS) $(BUILD)/kvmscope_schema.h | $(BUILD)/.dir
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libkvmscope-core.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libkvmscope-core.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libkvmscope-core.a $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

# Each harness for FUZZ_SECONDS (default 60), from its corpus; a table of
# executions, coverage and findings at the end (tests/fuzz/run).
fuzz: deps-build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run $(BUILD) fuzz $(FUZZ_SECONDS)

# gcc's static analyzer over the daemon and the CLI: a finding fails, until
# fixed or justified where it is (a comment and a pragma, never a blanket
# switch).  One log per file under BUILD/analyze/.
ANALYZE_SRCS := $(CORE_SRCS) $(DAEMON_SRCS) $(CLI_SRCS)
ANALYZE_LOGS := $(patsubst %.c,$(BUILD)/analyze/%.log,$(ANALYZE_SRCS))

$(BUILD)/analyze/%.log: %.c $(SKELS) $(BUILD)/kvmscope_schema.h | $(BUILD)/.dir
	@mkdir -p $(@D)
	@$(CC) $(ALL_CFLAGS) $(NCURSES_CFLAGS) -fanalyzer -c $< -o /dev/null > $@ 2>&1 || { cat $@; rm -f $@; exit 1; }

analyze: $(ANALYZE_LOGS)
	@n=$$(cat $(ANALYZE_LOGS) | grep -c '\[-Wanalyzer' || true); \
	grep -h -A3 '\[-Wanalyzer' $(ANALYZE_LOGS) | head -n 200; \
	echo "make analyze: $$n finding(s) in $(words $(ANALYZE_SRCS)) files (logs in $(BUILD)/analyze/)"; \
	[ "$$n" -eq 0 ]

# Root test programs share tests/common (running programs, capturing output,
# the daemon under test).
TEST_COMMON := tests/common/proc.c tests/common/kvmscoped.c
TEST_COMMON_H := $(wildcard tests/common/*.h)
# integration, top (kvmscopectl top in tmux), server (the socket's bounds
# and access), core (crash survival, per-VM limits, many short VMs) and
# faults (the daemon under load through injected faults):
# build/tests/NAME-tests from tests/integration/NAME.c.
$(BUILD)/tests/%-tests: tests/integration/%.c $(TEST_COMMON) $(TEST_COMMON_H) $(BUILD)/libkvmscope-core.a | $(BUILD)/.dir
	$(CC) $(ALL_CFLAGS) -Itests/common -o $@ $< $(TEST_COMMON) $(BUILD)/libkvmscope-core.a $(PKG_LIBS) -lcmocka

# In the lab: kvmscope's counts against perf kvm stat's for the same guest.
$(CROSSCHECK_BIN): tests/vm/crosscheck.c $(TEST_COMMON) | $(BUILD)/.dir
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -DKVMSCOPE_VERSION='"$(VERSION)"' -Itests/common $(shell $(PKG_CONFIG) --cflags jansson) \
		-o $@ $< $(TEST_COMMON) $(shell $(PKG_CONFIG) --libs jansson) -lcmocka

$(LAB_BIN): tests/vm/lab.c $(TEST_COMMON) include/kvmscope/kmod.h | $(BUILD)/.dir
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -DKVMSCOPE_VERSION='"$(VERSION)"' -Itests/common $(shell $(PKG_CONFIG) --cflags jansson) \
		-o $@ $< $(TEST_COMMON) $(shell $(PKG_CONFIG) --libs jansson) -lcmocka

run: deps-build
	@$(MAKE) --no-print-directory all
	./$(BUILD)/kvmscoped $(RUN_ARGS)

# The suite: unit tests, root integration tests against real guests here,
# then the same integration tests plus the lab suite in each lab kernel.
# The builds use every CPU (TEST_JOBS, default nproc): a third of the
# suite's time on a 2-CPU machine was the four builds, one file at a time.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
test: deps
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) SANITIZE= all $(TEST_BINS) $(FUZZ_BINS)
	@$(MAKE) --no-print-directory DEB_JOBS=$(TEST_JOBS) deb
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) sanitize-build
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) arm64-build
	@tests/run $(BUILD) all

# On x86_64, the arm64 build the arm64 lab runs (BUILD/arm64, with the
# BTF of the lab's arm64 kernel): the daemon, the CLI, the arm64 guest and
# tests/integration/arm64.c.  Elsewhere, nothing.
.PHONY: arm64-build
arm64-build:
ifeq ($(HOST_ARCH)$(CROSS),x86)
	@$(MAKE) --no-print-directory ARCH=arm64 BUILD=$(BUILD)/arm64 LAB_BUILD=$(BUILD) \
		VMLINUX_H=$(BUILD)/arm64/vmlinux.h VMLINUX_BTF=$(BUILD)/arm64/vmlinux.btf SANITIZE= \
		all $(BUILD)/arm64/tests/arm64-tests
else
	@true
endif

# The copy tests/run's "sanitize" part runs: SANITIZE=1 in BUILD/asan.
SANITIZE_BUILD := $(BUILD)/asan
sanitize-build:
	@$(MAKE) --no-print-directory BUILD=$(SANITIZE_BUILD) SANITIZE=1 VMLINUX_H=$(abspath $(VMLINUX_H)) \
		all $(patsubst $(BUILD)/%,$(SANITIZE_BUILD)/%,$(UNIT_BINS) $(INTEG_BIN) $(TOP_TEST_BIN) $(SERVER_TEST_BIN) $(CORE_TEST_BIN))

# The integration suite with kvmscoped under valgrind memcheck (root; about
# 2.5 minutes, not in make test): bytes definitely lost and invalid reads,
# writes and frees per daemon, any of them fails (tests/valgrind/run).
valgrind: deps
	@scripts/install-deps check
	@$(MAKE) --no-print-directory all $(INTEG_BIN)
	@tests/valgrind/run $(BUILD)

# Unit and integration tests with ASan, LeakSanitizer and UBSan (root).
sanitize: all
	@$(MAKE) --no-print-directory sanitize-build
	@tests/run $(BUILD) sanitize

vmtest: deps
	@$(MAKE) --no-print-directory all $(TEST_BINS) $(FUZZ_BINS) deb deb
	@$(MAKE) --no-print-directory arm64-build
	@tests/run $(BUILD) lab

# Exit rates with no tracer, kvmscope, bpftrace, bcc's kvmexit and perf kvm
# stat, in the 6.1 lab (bench/run --help); figures, not pass/fail.
bench: deps
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory all
	bench/run $(BUILD)

# kvmscoped at the daemon-core issue's scale: 1,000 synthetic VMs written
# into its pinned maps, then 200 real guests, on this machine (not the lab);
# a table of targets and figures, not pass/fail (bench/scale.c).
BENCH_SCALE_BIN := $(BUILD)/bench-scale
$(BENCH_SCALE_BIN): bench/scale.c tests/common/kvmscoped.c tests/common/kvmscoped.h include/kvmscope/exits.h | $(BUILD)/.dir
	$(CC) $(ALL_CFLAGS) -Itests/common -o $@ bench/scale.c tests/common/kvmscoped.c $(PKG_LIBS)

# Then 300 real VMs started and exited per second for 30 s (bench/storm).
bench-scale: all $(BENCH_SCALE_BIN)
	$(BENCH_SCALE_BIN) $(BUILD)
	bench/storm $(BUILD) --rate 300 --seconds 30

vmshell: deps
	@$(MAKE) --no-print-directory all $(TEST_BINS)
	tests/vm/run --build $(BUILD) --kernel $(KERNEL) --module tests/vm/module \
		--module tests/vm/livepatch --shell

unit: $(UNIT_BINS) $(FUZZ_BINS)
	@tests/run $(BUILD) unit

integration: all $(INTEG_BIN) $(TOP_TEST_BIN) $(SERVER_TEST_BIN) $(CORE_TEST_BIN) $(FAULTS_TEST_BIN)
	@tests/run $(BUILD) integration

check: test

# The lab kernels (BUILD/lab) take a download to replace: clean keeps them.
clean:
	@if [ -d $(BUILD) ]; then find $(BUILD) -mindepth 1 -maxdepth 1 ! -name lab -exec rm -rf {} +; fi

distclean:
	rm -rf $(BUILD)
