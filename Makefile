# Community Gateway: build, test, run the demo.
#
#   make demo     run the gateway on the example compound in config/, all local
#   make check    build and run every test, then again under ASan + UBSan
#   make check-arm64  the unit tests and gatewayd -t, cross-built, under qemu
#   make bench    measure decision latency, throughput, memory, reload, start
#   make install  install binaries, the systemd unit and the example config
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
	python3-paho-mqtt python3-pymodbus socat sqlite3 tzdata

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Igateway -Idrivers
OPT	?= -O2

PKG_CONFIG ?= pkg-config
CROSS_RUN :=

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
	fmt-check lint install clean deps-arm64 check-arm64

all: $(B)/gatewayd $(B)/gatewayctl

build: $(B)/gatewayd $(B)/gatewayctl $(UNIT_BIN)

$(B)/%.o: %.c $(wildcard gateway/*.h drivers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libcore.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/gatewayd: $(B)/gateway/main.o $(B)/libcore.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEPS_LIBS)

$(B)/gatewayctl: $(CTL_OBJ) $(B)/libcore.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEPS_LIBS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell $(PKG_CONFIG) --cflags $(CMOCKA)) \
		$(LDFLAGS_ALL) -o $@ $< $(B)/libcore.a $(DEPS_LIBS) \
		$(shell $(PKG_CONFIG) --libs $(CMOCKA))

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

install: $(B)/gatewayd $(B)/gatewayctl
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(SYSCONFDIR)/access.d \
		$(DESTDIR)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(B)/gatewayd $(DESTDIR)$(PREFIX)/sbin/gatewayd
	install -m 755 $(B)/gatewayctl $(DESTDIR)$(PREFIX)/bin/gatewayctl
	install -m 644 gateway/gatewayctl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/gatewayctl
	install -m 644 systemd/community-gateway.service \
		$(DESTDIR)/lib/systemd/system/
	install -d $(DESTDIR)/etc/mosquitto/conf.d
	install -m 644 config/mosquitto.conf \
		$(DESTDIR)/etc/mosquitto/conf.d/community-gateway.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/gateway.ini ] || \
		sed -e 's|^data_dir *=.*|data_dir = /var/lib/community-gateway|' \
		    -e 's|^access_dir *=.*|access_dir = $(SYSCONFDIR)/access.d|' \
		    config/gateway.ini > $(DESTDIR)$(SYSCONFDIR)/gateway.ini
	[ -n "$$(ls -A $(DESTDIR)$(SYSCONFDIR)/access.d)" ] || \
		install -m 644 config/access.d/*.ini \
		$(DESTDIR)$(SYSCONFDIR)/access.d/

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
