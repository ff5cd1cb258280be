# The two commands of the README, and the steps under them.
BUILD  ?= build
PREFIX ?= $(CURDIR)/$(BUILD)/inst
KURIR   = $(PREFIX)/sbin/kurir
RUNDIR ?= $(CURDIR)/run
# The default configuration directory of this (development and test) build:
# inside its prefix, never the system's /etc/kurir. The tests list their
# privilege-separated instances in its main.cf (alternate_config_directories).
CONFIG_DIR ?= $(PREFIX)/etc/kurir

# ccache (when installed, meson uses it) shares objects between this build
# and the ones make test makes beside it (build-system): paths relative to
# the checkout, not the build directory, decide what is the same.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all deps build run test bench bench-quick clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) -Dconfig_directory=$(CONFIG_DIR) -Dwerror=true

build: deps $(BUILD)/build.ninja
	@grep -qF 'KURIR_CONFIG_DIR "$(CONFIG_DIR)"' $(BUILD)/build_paths.hpp 2>/dev/null || \
	  meson setup --reconfigure $(BUILD) -Dconfig_directory=$(CONFIG_DIR)
	meson compile -C $(BUILD)
	meson install -C $(BUILD) --quiet

run: build
	@[ -f $(RUNDIR)/main.cf ] || $(KURIR) -c $(RUNDIR) init --listen 127.0.0.1:2525
	@echo ""
	@echo "kurir is starting in the foreground on 127.0.0.1:2525 (Ctrl-C stops it)."
	@echo "Send a message from another terminal:"
	@echo "  swaks --server 127.0.0.1:2525 --to you@localhost"
	@echo "It lands in $(RUNDIR)/mail/you/new/; the log is $(RUNDIR)/log/maillog."
	@echo ""
	$(KURIR) -c $(RUNDIR) start-fg

test: build
	@/usr/bin/python3 scripts/run-tests --build $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) build-fuzz build-release build-system

# Benchmark against Postfix on this machine (root; see bench/bench.py), e.g.
# make bench BENCH_ARGS="--only smtp-10,sendmail-1 --syscalls".
bench: build
	@/usr/bin/python3 bench/bench.py $(BENCH_ARGS)

# smtp-10 alone, alternating kurir and Postfix, in a few minutes: the check
# beside every performance change (doc/performance.md).
bench-quick: build
	@/usr/bin/python3 bench/bench.py --quick $(BENCH_ARGS)
