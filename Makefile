# SPDX-License-Identifier: GPL-2.0
#
# make            build the kernel modules and the userspace tools
# make check      install missing Debian packages, build, unit tests, VM suite
# make demo       install, build and show netsvc working in an emulated host
# make bench      benchmarks (ONLY=<name> for one)
# make fuzz       the fuzzers, for longer than make check runs them

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

.PHONY: all modules tools unit check vmcheck demo bench fuzz deps clean

all: modules tools

deps:
	@tools/deps.sh

modules:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

tools:
	$(MAKE) -C tools/netsvcctl

unit:
	@tests/unit/run

vmcheck: all
	@tests/vm/suite

check: deps
	$(MAKE) all
	@tests/check

demo: deps
	$(MAKE) all
	@tests/demo

bench: deps
	$(MAKE) all
	@bench/run $(ONLY)

fuzz: deps
	@tests/fuzz/run long

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	-$(MAKE) -C tools/netsvcctl clean
	rm -rf build
