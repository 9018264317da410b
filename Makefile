# SPDX-License-Identifier: GPL-2.0
#
# make            build the kernel modules and the userspace tools
# make check      install missing Debian packages, build, unit tests, VM suite
# make demo       install, build and show netsvc working in an emulated host
# make bench      benchmarks (ONLY=<name> for one)
# make insn       the instruction-count QEMU plugin and its guest programs (build/insn)
# make fuzz       the fuzzers, for longer than make check runs them
# make deb        Debian packages netsvc-dkms and netsvc-utils into build/deb

KVER ?= $(shell ls -1d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's|.*/linux-headers-||' | sort -V | tail -n1)
ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= /usr/src/linux-headers-$(KVER)
endif
export KDIR KVER

TOP := $(CURDIR)
export TOP

CC ?= cc
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(TOP)/include
export USER_CFLAGS

.PHONY: all modules tools insn unit check deb vmcheck demo bench fuzz deps clean install install-files uninstall dkms-install

VERSION := 0.1
PREFIX ?= /usr/local
DESTDIR ?=
MODDIR := $(DESTDIR)/lib/modules/$(KVER)/extra
XENDIR := $(DESTDIR)/etc/xen

all: modules tools insn

deps:
	@tools/deps.sh

modules:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

tools:
	$(MAKE) -C tools/netsvcctl

insn:
	$(MAKE) -C bench/insn

unit:
	@tests/unit/run

vmcheck: all
	@tests/vm/suite

check: deps
	$(MAKE) all
	$(MAKE) deb
	@tests/check

# The debug lane: a KASAN/lockdep/kmemleak/UBSAN kernel, the VM suite on it.
.PHONY: check-debug
check-debug: deps
	@tests/debug/check

demo: deps
	$(MAKE) all
	@tests/demo

bench: deps
	$(MAKE) all
	@bench/run $(ONLY)

fuzz: deps
	@tests/fuzz/run long

# Debian packages netsvc-dkms and netsvc-utils into build/deb/ (tools/deb.sh;
# tests/xen/t-deb.sh installs them on the emulated Xen host).
deb: deps
	@tools/deb.sh

# Modules for $(KVER) into .../extra (depmod'ed), netsvcctl and its man page,
# the hotplug script and the example configuration.  DESTDIR stages elsewhere.
# DEPMOD=: leaves the module index to the caller (the emulated Xen host builds
# it on the host, see tests/xen/run).
DEPMOD ?= depmod
install: all install-files

install-files:
	install -d $(MODDIR)
	install -m 644 kmod/netsvc.ko $(wildcard services/*/netsvc_*.ko services/*/*/netsvc_*.ko) $(MODDIR)/
	$(DEPMOD) $(if $(DESTDIR),-b $(DESTDIR)) -a $(KVER)
	install -D -m 755 tools/netsvcctl/netsvcctl $(DESTDIR)$(PREFIX)/sbin/netsvcctl
	install -D -m 644 tools/netsvcctl/netsvcctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/netsvcctl.8
	install -D -m 644 include/uapi/linux/netsvc.h $(DESTDIR)$(PREFIX)/include/linux/netsvc.h
	install -D -m 644 tools/netsvcctl/netsvcctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/netsvcctl
	if [ -f tools/hotplug/vif-netsvc ]; then \
		install -D -m 755 tools/hotplug/vif-netsvc $(XENDIR)/scripts/vif-netsvc; \
		install -D -m 644 tools/hotplug/netsvc.conf.example $(XENDIR)/netsvc.conf.example; \
	fi

uninstall:
	rm -f $(MODDIR)/netsvc.ko $(MODDIR)/netsvc_*.ko
	$(DEPMOD) $(if $(DESTDIR),-b $(DESTDIR)) -a $(KVER)
	rm -f $(DESTDIR)$(PREFIX)/sbin/netsvcctl $(DESTDIR)$(PREFIX)/share/man/man8/netsvcctl.8
	rm -f $(DESTDIR)$(PREFIX)/include/linux/netsvc.h
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/netsvcctl
	rm -f $(XENDIR)/scripts/vif-netsvc $(XENDIR)/netsvc.conf.example

# Source tree for DKMS: rebuilt automatically on kernel upgrades.
dkms-install:
	rm -rf /usr/src/netsvc-$(VERSION) && mkdir -p /usr/src/netsvc-$(VERSION)
	cp -r Kbuild kmod services include /usr/src/netsvc-$(VERSION)/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf > /usr/src/netsvc-$(VERSION)/dkms.conf
	dkms add -m netsvc -v $(VERSION) && dkms build -m netsvc -v $(VERSION) -k $(KVER) && \
		dkms install -m netsvc -v $(VERSION) -k $(KVER)

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	-$(MAKE) -C tools/netsvcctl clean
	-$(MAKE) -C xenctl clean
	rm -rf build
