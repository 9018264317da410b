# SPDX-License-Identifier: GPL-2.0
# Helpers for scripts running in Dom0 under tests/xen/run.  Also sources the
# VM helpers (pass/fail/expect..., summary).
. "$TOP/tests/vm/lib.sh"

KVER=${KVER:-$(uname -r)}
DOMU_RD=/results/domu.gz
# guest_ip NAME: g<i> is 10.99.0.(10+i)
guest_ip() { echo "10.99.0.$((10 + ${1#g}))"; }
guest_domid() { xl domid "$1" 2>/dev/null; }
guest_vif() { echo "vif$(guest_domid "$1").0"; }

# guest_create NAME: an xl config using the vif-netsvc hotplug script.
guest_create() {
	local n=$1 i=${1#g}
	cat > /tmp/$n.cfg <<EOC
name = "$n"
type = "pv"
kernel = "/boot/vmlinuz-$KVER"
ramdisk = "$DOMU_RD"
extra = "console=hvc0 quiet netsvc_ip=$(guest_ip "$n")/24 netsvc_gw=10.99.0.1"
memory = 128
vcpus = 1
vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:$(printf %02x "$i"),script=vif-netsvc' ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
EOC
	xl create /tmp/$n.cfg > /tmp/$n.create 2>&1 || { cat /tmp/$n.create; return 1; }
}

# guest_wait NAME: until its command server answers.
guest_wait() {
	local i
	for i in $(seq 120); do
		gx "$1" true >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

# gx NAME CMD...: run CMD (a shell line) in guest NAME; its output and status.
gx() {
	local n=$1 out rc; shift
	out=$(printf '%s\necho "@rc=$?"\n' "$*" | socat -t 1200 - TCP:"$(guest_ip "$n")":7000,connect-timeout=5 2>&1)
	rc=$(sed -n 's/^@rc=//p' <<< "$out" | tail -n1)
	sed '/^@rc=/d' <<< "$out"
	[ -n "$rc" ] && return "$rc"
	return 255
}

# gsend NAME MB [PORT]: guest NAME sends MB MiB of random data to the remote
# host (10.9.0.2, behind Dom0's uplink).  GSEND_SECS: from starting the
# guest's sender until the receiver has seen the FIN.  True when the receiver's sha256
# equals the sender's.
gsend() {
	local n=$1 mb=$2 port=${3:-9000} sent rx t0
	sent=$(gx "$n" "dd if=/dev/urandom of=/tmp/f bs=1M count=$mb 2>/dev/null && sha256sum /tmp/f" | awk '{print $1}')
	rm -f /tmp/recv.sha
	ip netns exec remote sh -c "socat -u TCP-LISTEN:$port,reuseaddr - | sha256sum > /tmp/recv.sha" & rx=$!
	listening remote "$port"
	t0=$(date +%s.%N)
	gx "$n" "nc 10.9.0.2 $port < /tmp/f" > /dev/null || pkill -f "TCP-LISTEN:$port,"
	wait $rx
	GSEND_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	[ -n "$sent" ] && [ "$sent" = "$(awk '{print $1}' /tmp/recv.sha)" ]
}

# The guest end of the tunnel (netsvc_front, /proc/netsvc_front):
# fstat GUEST KEY: one of its totals.
fstat() { gx "$1" "cat /proc/netsvc_front" | awk -v k="$2" '$1 == k { print $2 }'; }
# peer_state GUEST: "up", "wait", "dead" or "none" for its one peer.
peer_state() {
	local s; s=$(gx "$1" "cat /proc/netsvc_front" | awk '$1 == "peer" { print $8 }')
	echo "${s:-none}"
}
# wait_state GUEST STATE [SECONDS]: until peer_state says STATE (default 60 s).
wait_state() {
	local i
	for i in $(seq "${3:-60}"); do
		[ "$(peer_state "$1")" = "$2" ] && return 0
		sleep 1
	done
	echo "$1: tunnel not $2 after ${3:-60} s" >&2
	return 1
}
