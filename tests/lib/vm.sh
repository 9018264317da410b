# SPDX-License-Identifier: GPL-2.0
# Pieces shared by the VM harness (tests/vm/run) and its Xen mode: the kernel
# to boot, initramfs building, the 9p layout, booting QEMU, reading results.
#
# The guest's root is a small initramfs; the host's / is shared read-only over
# virtio-9p and /usr, /etc are bind-mounted from it, so every host tool runs
# inside unchanged (an overlay root over 9p lost /proc mounts: avoided).
# Results come back through a second, writable 9p share: the job's output,
# its exit status and the kernel log.

: "${TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KVER=${KVER:-$(ls -1d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's|.*/linux-headers-||' | sort -V | tail -n1)}
VMLINUZ=/boot/vmlinuz-$KVER
# Another kernel (the debug lane, tests/debug/check): VM_KERNEL=bzImage,
# VM_KVER=its release, VM_MODROOT=its modules_install root (bound at
# /lib/modules in the VM).  Unset: Debian's kernel, as always.
if [ -n "${VM_KERNEL:-}" ]; then VMLINUZ=$VM_KERNEL KVER=${VM_KVER:?VM_KVER with VM_KERNEL}; fi
# The host's module tree for KVER.  VM_MODROOT is resolved: the VM sees the
# host under /host, where an absolute symlink (a worktree's build/debug-kernel)
# would point back out of it.
vm_moddir() {
	if [ -n "${VM_MODROOT:-}" ]; then echo "$(readlink -f "$VM_MODROOT")/lib/modules"
	else echo /lib/modules; fi
}
# What a kernel log must never show after a test (lockdep, KFENCE and
# debugobjects reports also start with BUG: or WARNING:; named for clarity).
DMESG_BAD='BUG:|WARNING:|Oops|general protection|refcount_t|list_del corruption|list_add corruption|UBSAN|KASAN|kernel BUG|KFENCE|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|ODEBUG'

vm_die() { echo "vm: $*" >&2; exit 2; }

# vm_prio CMD...: CMD at nice VM_NICE when that is set.  The scheduler's
# autogroups share the CPUs between sessions whatever their nice values
# (measured: an emulator at nice -15 still got 0.8 of a core beside three
# others), so CMD gets a session of its own whose group is given the value.
vm_prio() {
	[ -n "${VM_NICE:-}" ] || { "$@"; return; }
	setsid -w sh -c 'echo "$0" > /proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$VM_NICE" "$@"
}

# vm_add_mods DIR MOD... : copy modules with their dependencies, in load order.
vm_add_mods() {
	local dir=$1 m f; shift
	mkdir -p "$dir/mods"; touch "$dir/mods/order"
	for m in "$@"; do
		modprobe ${VM_MODROOT:+-d "$VM_MODROOT"} -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}' |
		while read -r f; do
			grep -qx "$(basename "$f")" "$dir/mods/order" 2>/dev/null && continue
			cp "$f" "$dir/mods/" && basename "$f" >> "$dir/mods/order"
		done
	done
}

vm_cpio() { (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"; }

# vm_initramfs OUT INIT_SCRIPT : busybox + 9p modules + INIT_SCRIPT as /init.
vm_initramfs() {
	local out=$1 init=$2 r a
	r=$(mktemp -d)
	mkdir -p "$r"/{bb,proc,sys,dev,host,usr,etc,boot,run,tmp,var,results}
	cp /bin/busybox "$r/bb/"
	for a in sh mount mkdir insmod ln cat echo sleep sync; do ln -s busybox "$r/bb/$a"; done
	vm_add_mods "$r" virtio_pci 9pnet_virtio 9p
	cp "$init" "$r/init"; chmod +x "$r/init"
	vm_cpio "$r" "$out"
	rm -rf "$r"
}

# vm_results_prepare DIR JOB... : an empty results share holding the job.
vm_results_prepare() {
	local dir=$1; shift
	rm -rf "$dir"; mkdir -p "$dir"
	printf '%q ' "$@" > "$dir/job"
	echo "$TOP" > "$dir/top"
	# Test sizes in percent (tests/vm/lib.sh scaled): the debug lane's
	# kernel is several times slower, so it runs the same checks on less.
	echo "${VM_SCALE:-100}" > "$dir/scale"
}

# vm_check_debug R LOG NAME : a debug kernel's checks on the results share R
# (tests/vm/init wrote R/kmemleak after the job): its checkers were on, and
# kmemleak blames nothing on netsvc.  On that kernel everything else is built
# in, so a frame in module space that no longer has a symbol (an unloaded
# module) is ours too.  PASS/FAIL lines named NAME-debug, NAME-kmemleak; the
# list and our part of it in LOG.kmemleak, LOG.kmemleak-ours.  Non-zero on a
# failure.
vm_check_debug() {
	local r=$1 log=$2 name=$3 banner rc=0
	for banner in "KernelAddressSanitizer initialized" "Lock dependency validator" \
	              "Kernel memory leak detector initialized" "kfence: initialized"; do
		if grep -q "$banner" "$r/dmesg"; then echo "PASS $name-debug: $banner"
		else echo "FAIL $name-debug: no '$banner' in the kernel log"; rc=1; fi
	done
	cp "$r/kmemleak" "$log.kmemleak"
	awk '/^unreferenced object/ { if (ours) print rec; rec = ""; ours = 0 }
	     { rec = rec $0 "\n" }
	     /netsvc|\] 0x[0-9a-f]+$/ { ours = 1 }
	     END { if (ours) print rec }' "$r/kmemleak" > "$log.kmemleak-ours"
	if [ -s "$log.kmemleak-ours" ]; then
		echo "FAIL $name-kmemleak: $(grep -c '^unreferenced object' "$log.kmemleak-ours") leak(s) blamed on netsvc (${log#"$TOP"/}.kmemleak):"
		head -n 30 "$log.kmemleak-ours" | sed 's/^/    /'
		rc=1
	else
		echo "PASS $name-kmemleak: $(grep -c '^unreferenced object' "$r/kmemleak") unreferenced object(s), none from netsvc"
	fi
	return $rc
}

# vm_check_dmesg FILE : non-zero and the offending lines when the log is bad.
vm_check_dmesg() {
	if grep -E "$DMESG_BAD" "$1"; then
		return 1
	fi
	return 0
}
