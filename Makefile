# Community Gateway: build, test, run the demo.
#
#   make demo     run the gateway on the example compound in config/, all local
#   make check    build and run every test, then again under ASan + UBSan
#   make check-arm64  the unit tests and gatewayd -t, cross-built, under qemu
#   make bench    measure decision latency, throughput, memory, reload, start
#   make install  install binaries, the systemd unit, a gateway.ini template
#   make deb      build/community-gateway_<version>_<arch>.deb [ARCH=arm64]
#
# demo, check and bench install missing Debian packages first (as root or
# through sudo): nothing else will on a fresh machine.

CC	?= cc
PYTHON	:= /usr/bin/python3
PREFIX	?= /usr/local
SYSCONFDIR ?= /etc/community-gateway
DEMO_SECONDS ?= 0

PKGS	:= libmosquitto libmodbus sqlite3 libcurl libuv inih jansson openssl
CMOCKA	:= cmocka

# Debian packages: the build's, then the tests'.
DEB_BUILD := build-essential pkg-config clang-format libmosquitto-dev \
	libssl-dev \
	libmodbus-dev \
	libsqlite3-dev libcurl4-openssl-dev libuv1-dev libinih-dev \
	libjansson-dev
DEB_TEST := mosquitto libcmocka-dev python3-pytest python3-pytest-xdist \
	dpkg-dev fakeroot lintian systemd \
	python3-paho-mqtt python3-pymodbus socat sqlite3 tzdata

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Igateway -Idrivers
OPT	?= -O2

PKG_CONFIG ?= pkg-config
CROSS_RUN :=

# ARCH=arm64 (make deb ARCH=arm64): the cross build for it, unless CROSS
# says otherwise.
ifneq ($(ARCH),)
ifneq ($(ARCH),$(shell dpkg --print-architecture))
CROSS ?= $(shell dpkg-architecture -a$(ARCH) -qDEB_HOST_GNU_TYPE 2>/dev/null)
endif
endif

# The sanitizer build lives beside the normal one, in build/asan; a cross
# build (CROSS=aarch64-linux-gnu: the Pi) in build/<arch>, with Debian's
# cross compiler and the target's multiarch -dev packages (make deps-arm64).
ifneq ($(CROSS),)
CROSS_ARCH := $(or $(shell dpkg-architecture -t$(CROSS) -qDEB_HOST_ARCH \
	2>/dev/null),$(CROSS))
B	:= build/$(CROSS_ARCH)
CC	:= $(CROSS)-gcc
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS)/pkgconfig:/usr/share/pkgconfig \
	pkg-config
# make unit runs the target's tests under qemu-user, called by name: a
# container has no binfmt.  The loader and the libraries are the :arm64
# packages' own, in / and /usr/lib/aarch64-linux-gnu: qemu needs no -L.
CROSS_RUN := qemu-$(firstword $(subst -, ,$(CROSS)))-static
SANFLAGS :=
else ifeq ($(SAN),1)
B	:= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
OPT	:= -O1
else
B	:= build
SANFLAGS :=
endif

DEPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS = -Wl,--as-needed $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) \
	-lpthread -lm
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(SANFLAGS) $(DEPS_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

# gatewayctl: gateway/gatewayctl.c and its commands, gateway/ctl_*.c.
CTL_SRC := gateway/gatewayctl.c $(wildcard gateway/ctl_*.c)
CTL_OBJ := $(patsubst %.c,$(B)/%.o,$(CTL_SRC))
CORE_SRC := $(filter-out gateway/main.c $(CTL_SRC), \
	$(wildcard gateway/*.c)) $(wildcard drivers/*.c)
CORE_OBJ := $(patsubst %.c,$(B)/%.o,$(CORE_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all deps build unit integration check check-one demo bench fmt \
	fmt-check lint install deb build-deps unit-deps clean deps-arm64 \
	check-arm64

all: $(B)/gatewayd $(B)/gatewayctl

build: $(B)/gatewayd $(B)/gatewayctl $(UNIT_BIN)

$(B)/%.o: %.c $(wildcard gateway/*.h drivers/*.h) | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libcore.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/gatewayd: $(B)/gateway/main.o $(B)/libcore.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEPS_LIBS)

$(B)/gatewayctl: $(CTL_OBJ) $(B)/libcore.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEPS_LIBS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/libcore.a \
		| unit-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell $(PKG_CONFIG) --cflags $(CMOCKA)) \
		$(LDFLAGS_ALL) -o $@ $< $(B)/libcore.a $(DEPS_LIBS) \
		$(shell $(PKG_CONFIG) --libs $(CMOCKA))

# Before the first compile, a look (pkg-config, dpkg-query) for what it
# needs: without it, the list of Debian packages to install, not a
# compiler's error about a header.
need_pkgs = if ! command -v $(CC) >/dev/null 2>&1 || \
		! command -v pkg-config >/dev/null 2>&1 || \
		! pkg-config --exists $(1); then \
	missing=""; for p in $(2); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then pkg-config --print-errors --exists $(1); \
		echo "make: pkg-config cannot find the libraries above"; \
		exit 1; fi; \
	echo "make: to build, install these Debian packages:$$missing"; \
	echo "  sudo apt-get install$$missing    (or: make deps)"; \
	exit 1; fi

build-deps:
	@$(call need_pkgs,$(PKGS),$(filter-out clang-format,$(DEB_BUILD)))

unit-deps: build-deps
	@$(call need_pkgs,$(CMOCKA),libcmocka-dev)

# Install what is missing, once: apt-get update, then apt-get install.
deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

# ---- The Raspberry Pi (arm64): make deps-arm64 installs Debian's cross
# compiler, the target's multiarch -dev packages (the same versions as the
# amd64 ones: apt upgrades those with them) and qemu-user-static; make
# check-arm64 builds build/arm64 and runs the unit tests and gatewayd -t on
# the example configuration there under qemu.  Not in check: with its
# packages it would add some five minutes (README, Develop).
DEB_ARM64 := crossbuild-essential-arm64 qemu-user-static \
	$(addsuffix :arm64,$(filter lib%-dev,$(DEB_BUILD)) libcmocka-dev)

deps-arm64:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then \
		echo "adding the arm64 architecture"; \
		$$SUDO dpkg --add-architecture arm64 || exit 1; \
	fi; \
	missing=""; for p in $(DEB_ARM64); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

check-arm64: deps-arm64
	$(MAKE) CROSS=aarch64-linux-gnu build
	$(MAKE) CROSS=aarch64-linux-gnu unit
	@echo "== build/arm64/gatewayd -t -c config/gateway.ini (qemu)"; \
	out=$$(qemu-aarch64-static build/arm64/gatewayd -t \
		-c config/gateway.ini) \
		|| { echo "$$out"; echo "check-arm64: gatewayd -t failed"; \
		exit 1; }; \
	echo "$$out"; \
	echo "$$out" | grep -q '^[0-9]* gates, .* persons, ' || \
		{ echo "check-arm64: no summary line"; exit 1; }

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $(CROSS_RUN) $$t || exit 1; done

# Two tests at a time (pytest-xdist): most of them wait on a broker, a
# device or a protocol's clock, not on a core.  Under the sanitizers,
# tests that mostly wait on a protocol's clock (marked slow) are not run
# again: the same code ran in the plain pass.  The bench's load tool is
# built first: tests that use it would build it at once otherwise.
INTEGRATION_JOBS ?= 2
integration: $(B)/gatewayd $(B)/gatewayctl
	$(MAKE) -s -C tests/bench
	GATEWAYD=$(CURDIR)/$(B)/gatewayd GATEWAYCTL=$(CURDIR)/$(B)/gatewayctl \
		SANITIZED=$(SAN) \
		$(PYTHON) -m pytest -q -p no:cacheprovider \
		-n $(INTEGRATION_JOBS) \
		$(if $(filter 1,$(SAN)),-m "not slow") tests/integration

# One pass of every test on one build (SAN=1: the sanitizer build).
check-one: unit integration

check: deps
	$(MAKE) fmt-check
	$(MAKE) lint
	$(MAKE) build
	$(MAKE) check-one
	$(MAKE) SAN=1 build
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) SAN=1 check-one

demo: deps
	$(MAKE) $(B)/gatewayd $(B)/gatewayctl
	$(PYTHON) tests/sim/demo.py --gatewayd $(B)/gatewayd \
		--config config/gateway.ini --seconds $(DEMO_SECONDS)

bench: deps
	$(MAKE) $(B)/gatewayd
	$(MAKE) -C tests/bench
	$(PYTHON) tests/bench/bench.py --gatewayd $(B)/gatewayd

fmt:
	clang-format -i gateway/*.[ch] drivers/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c \
		tests/bench/*.c

fmt-check:
	clang-format --dry-run --Werror gateway/*.[ch] drivers/*.[ch] \
		tests/unit/*.[ch] tests/fuzz/*.c tests/bench/*.c

# The functions STYLE.md bans, wherever they are called in a C file
# under gateway/, drivers/ or tests/; each hit as file:line.  Only a
# name followed by '(' counts, so that prose may still name them
# (written "sprintf()" it counts: say "sprintf" instead).
LINT_BANNED := strcpy|stpcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll

lint:
	@if grep -rnE --include='*.[ch]' \
		'\b($(LINT_BANNED))[[:space:]]*\(' gateway drivers tests; then \
		echo "lint: banned calls above: use snprintf, str_copy," \
			"fgets, strtol (STYLE.md)"; \
		exit 1; \
	fi

# ---- make install [DESTDIR=...] [PREFIX=/usr/local]
# Programs under PREFIX; the unit where systemd looks for it (for
# PREFIX=/usr Debian's /lib/systemd/system, else PREFIX/lib/systemd/system:
# systemd reads /usr/local/lib/systemd/system too), with the paths in it
# made PREFIX's.  Under /etc only what the installer edits: a gateway.ini
# template that names no device, an empty access.d with a README, the
# broker's settings.  A file there that differs from the new default is
# kept, and the new default goes beside it as NAME.dist.  The example
# compound goes to the documentation's examples/.
SBINDIR	= $(PREFIX)/sbin
BINDIR	= $(PREFIX)/bin
DOCDIR	= $(PREFIX)/share/doc/community-gateway
COMPLETIONDIR = $(PREFIX)/share/bash-completion/completions
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
UNITDIR	= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MOSQUITTO_CONFDIR = /etc/mosquitto/conf.d

# install_conf MODE SRC DEST: DEST if absent; if DEST differs (edited),
# SRC beside it as DEST.dist, and a line saying so.
install_conf = if [ ! -e $(3) ]; then install -m $(1) $(2) $(3); \
	elif cmp -s $(2) $(3); then rm -f $(3).dist; \
	else install -m $(1) $(2) $(3).dist; \
		echo "$(3): edited, kept; the new default is $(3).dist"; fi

install: $(B)/gatewayd $(B)/gatewayctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/examples/access.d \
		$(DESTDIR)$(SYSCONFDIR)/access.d $(DESTDIR)$(MOSQUITTO_CONFDIR)
	install -m 755 $(B)/gatewayd $(DESTDIR)$(SBINDIR)/gatewayd
	install -m 755 $(B)/gatewayctl $(DESTDIR)$(BINDIR)/gatewayctl
	install -m 644 gateway/gatewayctl.bash \
		$(DESTDIR)$(COMPLETIONDIR)/gatewayctl
	sed -e 's|/usr/local/|$(PREFIX)/|g' \
		-e 's|/etc/community-gateway|$(SYSCONFDIR)|g' \
		systemd/community-gateway.service \
		> $(DESTDIR)$(UNITDIR)/community-gateway.service
	chmod 644 $(DESTDIR)$(UNITDIR)/community-gateway.service
	install -m 644 systemd/community-gateway.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/community-gateway.conf
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 config/gateway.ini config/mosquitto.conf \
		$(DESTDIR)$(DOCDIR)/examples/
	install -m 644 config/access.d/*.ini \
		$(DESTDIR)$(DOCDIR)/examples/access.d/
	@$(call install_conf,644,config/gateway.ini.dist,$(DESTDIR)$(SYSCONFDIR)/gateway.ini)
	@$(call install_conf,644,config/README.access.d,$(DESTDIR)$(SYSCONFDIR)/access.d/README)
	@$(call install_conf,644,config/mosquitto.conf,$(DESTDIR)$(MOSQUITTO_CONFDIR)/community-gateway.conf)
	@# On this machine (no DESTDIR, as root): the system user, the
	@# configuration its group's, systemd told.  Nothing enabled.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		systemd-sysusers $(SYSUSERSDIR)/community-gateway.conf && \
		chown root:community-gateway $(SYSCONFDIR) && \
		chmod 755 $(SYSCONFDIR); \
		if [ -d /run/systemd/system ]; then \
			systemctl daemon-reload; fi; \
	fi

# ---- make deb [ARCH=amd64|arm64]: build/community-gateway_<version>_<arch>.deb
# from make install DESTDIR=build/deb/<arch>/root PREFIX=/usr, packaging
# files from systemd/deb/.  Depends from dpkg-shlibdeps (it wants a
# debian/control: a stand-in one in build/deb/<arch>/shlibs), conffiles:
# everything under /etc.  The binaries are those `make ARCH=<arch>` builds
# in $(B); they must be for <arch>, which is checked.  DEB_OUT: another
# directory than build/ for the package and its staging tree.
DEB_VERSION := $(shell sed -n 's/^\#define GATEWAY_VERSION "\(.*\)"/\1/p' \
	gateway/daemon.h)
DEB_ARCH = $(or $(ARCH),$(shell dpkg --print-architecture))
DEB_OUT ?= build
DEB_DIR = $(DEB_OUT)/deb/$(DEB_ARCH)
DEB_ROOT = $(DEB_DIR)/root
DEB_FILE = $(DEB_OUT)/community-gateway_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= Community Gateway maintainers <maintainers@community-gateway.example.org>
DEB_HOMEPAGE ?= https://community-gateway.example.org/
DEB_LICENSE ?= proprietary
DEB_GNU_TYPE = $(shell dpkg-architecture -a$(DEB_ARCH) -qDEB_HOST_GNU_TYPE \
	2>/dev/null)
DEB_STRIP = $(if $(filter $(DEB_ARCH),$(shell dpkg --print-architecture)),strip,$(DEB_GNU_TYPE)-strip)
# What readelf -h says of a binary built for each architecture.
DEB_ELF_amd64 := X86-64
DEB_ELF_arm64 := AArch64
DEB_ELF_armhf := ARM
DEB_ELF_i386 := 80386
DEB_DATE = $(shell date -R -d @$$(git log -1 --format=%ct 2>/dev/null || \
	date +%s))

deb: $(B)/gatewayd $(B)/gatewayctl
	rm -rf $(DEB_DIR)
	$(MAKE) install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr
	@for f in $(DEB_ROOT)/usr/sbin/gatewayd $(DEB_ROOT)/usr/bin/gatewayctl; \
	do readelf -h $$f | grep -q 'Machine:.*$(DEB_ELF_$(DEB_ARCH))' || { \
		echo "make deb: $$f is not for $(DEB_ARCH):" \
			"$$(readelf -h $$f | sed -n 's/ *Machine: *//p')"; \
		exit 1; }; done
	$(DEB_STRIP) --strip-unneeded --remove-section=.comment \
		--remove-section=.note $(DEB_ROOT)/usr/sbin/gatewayd \
		$(DEB_ROOT)/usr/bin/gatewayctl
	sed -e 's|@LICENSE@|$(DEB_LICENSE)|' \
		-e "s|@YEAR@|$$(date -u -d '$(DEB_DATE)' +%Y)|" systemd/deb/copyright \
		> $(DEB_ROOT)/usr/share/doc/community-gateway/copyright
	sed -e 's|@VERSION@|$(DEB_VERSION)|' \
		-e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' -e 's|@DATE@|$(DEB_DATE)|' \
		systemd/deb/changelog | gzip -9n \
		> $(DEB_ROOT)/usr/share/doc/community-gateway/changelog.gz
	chmod 644 $(DEB_ROOT)/usr/share/doc/community-gateway/copyright \
		$(DEB_ROOT)/usr/share/doc/community-gateway/changelog.gz
	mkdir -p $(DEB_DIR)/shlibs/debian $(DEB_ROOT)/DEBIAN
	printf 'Source: community-gateway\n\nPackage: community-gateway\nArchitecture: any\n' \
		> $(DEB_DIR)/shlibs/debian/control
	cd $(DEB_DIR)/shlibs && DEB_HOST_ARCH=$(DEB_ARCH) \
		DEB_HOST_MULTIARCH=$(shell dpkg-architecture -a$(DEB_ARCH) \
			-qDEB_HOST_MULTIARCH 2>/dev/null) \
		dpkg-shlibdeps -O -e../root/usr/sbin/gatewayd \
		-e../root/usr/bin/gatewayctl | sed -n 's/^shlibs:Depends=//p' \
		> ../depends
	@test -s $(DEB_DIR)/depends || { echo "make deb: dpkg-shlibdeps" \
		"found no dependencies"; exit 1; }
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
		-e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' \
		-e 's|@HOMEPAGE@|$(DEB_HOMEPAGE)|' \
		-e "s|@DEPENDS@|$$(cat $(DEB_DIR)/depends)|" \
		-e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
		systemd/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find etc -type f | sort | sed 's|^|/|' \
		> DEBIAN/conffiles
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -print | \
		sed 's|^\./||' | sort | xargs md5sum > DEBIAN/md5sums
	install -m 755 systemd/deb/postinst systemd/deb/prerm \
		systemd/deb/postrm $(DEB_ROOT)/DEBIAN/
	chmod 644 $(DEB_ROOT)/DEBIAN/control $(DEB_ROOT)/DEBIAN/conffiles \
		$(DEB_ROOT)/DEBIAN/md5sums
	chmod 755 $(DEB_ROOT)/DEBIAN
	dpkg-deb --build --root-owner-group $(DEB_ROOT) $(DEB_FILE)

clean:
	rm -rf build

# ---- make fuzz: libFuzzer targets (tests/fuzz/), one per parser of outside
# input.  Built with clang from the sources themselves (libcore.a is gcc's,
# without coverage), each run FUZZ_SECONDS over a copy of its seed corpus in
# build/fuzz/corpus-<target>, which grows from run to run.  Not in check.
.PHONY: fuzz

FUZZ_SECONDS ?= 30
FUZZ_FLAGS ?=
FUZZ_CC := clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -std=c11 \
	-D_GNU_SOURCE -Igateway -Idrivers
FUZZ_TARGETS := fuzz_barrier_relay fuzz_camera fuzz_charger fuzz_face_gate \
	fuzz_fire_mqtt fuzz_frigate fuzz_ini fuzz_lpr fuzz_robot fuzz_schedule \
	fuzz_time fuzz_topic
DEB_FUZZ := clang libclang-rt-14-dev

# Every driver, and what drivers stand on: the registry names them all.
FUZZ_DRIVERS := $(wildcard drivers/*.c) gateway/schema.c gateway/diag.c \
	gateway/util.c gateway/mask.c gateway/datetime.c
FUZZ_SRC_fuzz_barrier_relay := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_barrier_relay := jansson
FUZZ_SRC_fuzz_camera := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_camera := jansson
FUZZ_SRC_fuzz_frigate := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_frigate := jansson
FUZZ_SRC_fuzz_charger := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_charger := jansson
FUZZ_SRC_fuzz_face_gate := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_face_gate := jansson
FUZZ_SRC_fuzz_fire_mqtt := $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_fire_mqtt := jansson
FUZZ_SRC_fuzz_lpr := $(FUZZ_DRIVERS) gateway/plate.c
FUZZ_PKG_fuzz_lpr := jansson
FUZZ_SRC_fuzz_ini := gateway/inifile.c gateway/config.c gateway/access.c \
	gateway/access_load.c gateway/strpool.c gateway/htab.c \
	gateway/schedule.c gateway/plate.c gateway/secret.c \
	gateway/section.c gateway/alert.c $(FUZZ_DRIVERS)
FUZZ_PKG_fuzz_ini := inih jansson
FUZZ_SRC_fuzz_robot := gateway/robot.c gateway/mask.c gateway/util.c
FUZZ_PKG_fuzz_robot := jansson
FUZZ_SRC_fuzz_schedule := gateway/schedule.c
FUZZ_PKG_fuzz_schedule :=
FUZZ_SRC_fuzz_time := gateway/datetime.c gateway/util.c gateway/mask.c
FUZZ_PKG_fuzz_time :=
FUZZ_SRC_fuzz_topic := gateway/topic.c gateway/util.c
FUZZ_PKG_fuzz_topic :=

define FUZZ_RULE
build/fuzz/$(1): tests/fuzz/$(1).c $$(FUZZ_SRC_$(1)) \
		$$(wildcard gateway/*.h drivers/*.h tests/fuzz/*.h)
	@mkdir -p build/fuzz
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) \
		$$(if $$(FUZZ_PKG_$(1)),$$(shell pkg-config --cflags $$(FUZZ_PKG_$(1)))) \
		-o $$@ $$< $$(FUZZ_SRC_$(1)) -Wl,--as-needed \
		$$(if $$(FUZZ_PKG_$(1)),$$(shell pkg-config --libs $$(FUZZ_PKG_$(1))))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: deps
	@if ! command -v clang >/dev/null || ! dpkg-query -W -f='$${Status}' \
		libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'; then \
		echo "installing: $(DEB_FUZZ)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $(DEB_FUZZ); \
	fi
	$(MAKE) $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t for $(FUZZ_SECONDS) s"; \
		mkdir -p build/fuzz/corpus-$$t && \
		cp tests/fuzz/corpus/$$t/* build/fuzz/corpus-$$t/ && \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=build/fuzz/$$t- $(FUZZ_FLAGS) \
			build/fuzz/corpus-$$t || exit 1; \
	done
