# SPDX-License-Identifier: GPL-2.0
# Helpers for scripts running in Dom0 under tests/xen/run.  Also sources the
# VM helpers (pass/fail/expect..., summary).
. "$TOP/tests/vm/lib.sh"

KVER=${KVER:-$(uname -r)}
DOMU_RD=/results/domu.gz
# The guests' kernel and memory (MB): Dom0's kernel, unless tests/xen/run was
# given another (the debug lane's, which needs more memory).
DOMU_KERNEL=$(cat /results/domu-kernel 2>/dev/null || echo "/boot/vmlinuz-$KVER")
DOMU_MEM=$(cat /results/domu-mem 2>/dev/null || echo 128)
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
kernel = "$DOMU_KERNEL"
ramdisk = "$DOMU_RD"
extra = "console=hvc0 quiet netsvc_ip=$(guest_ip "$n")/24 netsvc_gw=10.99.0.1"
memory = $DOMU_MEM
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

# Downloads from the remote into a guest, sha256 compared in the guest.
# grecv_start GUEST MB PORT: the guest listens (hashing what it gets), the
# remote sends MB MiB of random data in the background.
grecv_start() {
	GRECV=($1 $2 $3)
	head -c $(($2 << 20)) /dev/urandom > /tmp/grecv.src
	sha256sum < /tmp/grecv.src | cut -d' ' -f1 > /tmp/grecv.sum
	gx "$1" "rm -f /tmp/d.sha; (sleep 100000 | nc -l -p $3 | sha256sum > /tmp/d.sha) < /dev/null > /dev/null 2>&1 &
		p=\$(printf :%04X $3); for i in \$(seq 100); do grep -q \"\$p 00000000:0000 0A\" /proc/net/tcp && break; sleep 0.1; done"
	GRECV_T0=$(date +%s.%N)
	ip netns exec remote socat -u FILE:/tmp/grecv.src TCP:"$(guest_ip "$1")":"$3" 2> /tmp/grecv.err &
	GRECV_PID=$!
}
# grecv_wait [SECONDS]: until the sender is done (at most SECONDS, default
# 300) and the guest has hashed it; true when the sha256s match.  Otherwise
# GRECV_WHY says which: timed out (the sender or the guest did not finish),
# the sender failed, or a sha256 mismatch (data lost or corrupted).
# GRECV_SECS: how long it took.
grecv_wait() {
	local lim=${1:-300} i rc=124 got=
	for i in $(seq $((lim * 2))); do
		kill -0 "$GRECV_PID" 2> /dev/null || break
		sleep 0.5
	done
	if kill -0 "$GRECV_PID" 2> /dev/null; then kill "$GRECV_PID"; wait "$GRECV_PID" 2> /dev/null
	else wait "$GRECV_PID"; rc=$?; fi
	for i in $(seq 60); do
		got=$(gx "${GRECV[0]}" "cat /tmp/d.sha 2> /dev/null" | cut -d' ' -f1)
		[ -n "$got" ] && break
		[ $rc -ne 0 ] && break
		sleep 0.5
	done
	GRECV_SECS=$(echo "$(date +%s.%N) - $GRECV_T0" | bc)
	gx "${GRECV[0]}" "busybox killall sleep 2> /dev/null"
	rm -f /tmp/grecv.src
	if [ $rc = 124 ]; then GRECV_WHY="timed out: the sender did not finish within $lim s"
	elif [ $rc -ne 0 ]; then GRECV_WHY="the sender failed (socat exit $rc: $(head -c 200 /tmp/grecv.err))"
	elif [ -z "$got" ]; then GRECV_WHY="timed out: the guest did not finish hashing within 30 s of the sender"
	elif [ "$got" != "$(cat /tmp/grecv.sum)" ]; then GRECV_WHY="sha256 mismatch: sent $(cat /tmp/grecv.sum), received $got"
	else GRECV_WHY=; return 0; fi
	return 1
}
# grecv_ok NAME [SECONDS]: grecv_wait as one PASS/FAIL line.
grecv_ok() {
	if grecv_wait "${2:-300}"; then pass "$1"; else fail "$1" "$GRECV_WHY"; fi
	echo "    ${GRECV[1]} MiB in $GRECV_SECS s"
}

# The guest end of the tunnel (netsvc_front, /proc/netsvc_front):
# fstat GUEST KEY: one of its totals.
fstat() { gx "$1" "cat /proc/netsvc_front" | awk -v k="$2" '$1 == k { print $2 }'; }
# peer_state GUEST [PEER]: "up", "wait", "dead" or "none" for its one peer
# (or for the peer with domid PEER).
peer_state() {
	local s; s=$(gx "$1" "cat /proc/netsvc_front" |
		awk -v p="${2:-}" '$1 == "peer" && (p == "" || $2 == p) { print $8 }')
	echo "${s:-none}"
}
# wait_state GUEST STATE [SECONDS [PEER]]: until peer_state says STATE
# (default 60 s).
wait_state() {
	local i
	for i in $(seq "${3:-60}"); do
		[ "$(peer_state "$1" "${4:-}")" = "$2" ] && return 0
		sleep 1
	done
	echo "$1: tunnel${4:+ to $4} not $2 after ${3:-60} s" >&2
	return 1
}

# Helpers of the tunnel tests.
pretty() { printf '[+] %s: %s\n' "$1" "${*:2}"; }
x() { pretty "$1" "${*:2}"; gx "$@"; }

# A guest's kernel log: what vm_check_dmesg looks for, and grant mappings
# that could not be undone.
BAD='BUG:|WARNING:|Oops|general protection|refcount_t|list_del corruption|list_add corruption|UBSAN|kernel BUG|leaking VM area|unmapping page|cannot unmap a peer'
# clean_dmesg NAME GUEST [EXTRA]: the guest answers and its kernel log has
# nothing matching $BAD (or EXTRA).
clean_dmesg() {
	local log
	if ! log=$(gx "$2" dmesg); then fail "$1" "$2 does not answer"; return; fi
	expect "$1" "$(grep -E "$BAD${3:+|$3}" <<< "$log")" ""
}

# TCP transfers of MB MiB of random data, sha256-checked.  A guest has no
# room for the data in its tmpfs, so the sender hashes the stream it sends
# (through a fifo) and the receiver the stream it gets.
# xfer_start FROM TO PORT MB: the receiver listens.  busybox nc ends the
# connection when its stdin ends: give it one that stays open.
xfer_start() {
	XFER=($1 $2 $3 $4)
	gx "$2" "rm -f /tmp/r.sha; (sleep 1000 | nc -l -p $3 | sha256sum > /tmp/r.sha) < /dev/null > /dev/null 2>&1 &"
	rm -f /tmp/xfer.sent
}
# xfer_send [TIMEOUT]: the sender sends; its sha256 goes to /tmp/xfer.sent.
# XFER_PACE=S: one MiB every S seconds (a transfer that lasts).
xfer_send() {
	local out src="dd if=/dev/urandom bs=1M count=${XFER[3]}"
	[ -n "${XFER_PACE:-}" ] &&
		src="for i in \$(seq ${XFER[3]}); do dd if=/dev/urandom bs=1M count=1; sleep $XFER_PACE; done"
	src="{ $src; } 2>/dev/null"
	out=$(gx "${XFER[0]}" "rm -f /tmp/p /tmp/s.sha; busybox mkfifo /tmp/p; sha256sum < /tmp/p > /tmp/s.sha &
		$src | busybox tee /tmp/p |
		timeout ${1:-300} nc $(guest_ip "${XFER[1]}") ${XFER[2]}; echo nc exit \$?; wait; cat /tmp/s.sha")
	echo "$out" | sed 's/^/    /'
	echo "$out" | awk 'length($1) == 64 { print $1 }' > /tmp/xfer.sent
	echo "$out" | sed -n 's/^nc exit //p' > /tmp/xfer.rc
	echo "${1:-300}" > /tmp/xfer.limit
}
# xfer_check [SECONDS]: the receiver's sha256 equals the sender's.  A sender
# that ran out of time says so (XFER_WHY): that is a slow machine, not loss.
xfer_check() {
	local i got sent
	for i in $(seq "${1:-60}"); do
		got=$(gx "${XFER[1]}" "cat /tmp/r.sha 2>/dev/null" | awk 'length($1) == 64 { print $1 }')
		[ -n "$got" ] && break
		sleep 1
	done
	gx "${XFER[1]}" "busybox killall sleep 2>/dev/null"
	sent=$(cat /tmp/xfer.sent 2>/dev/null)
	echo "    sent sha256 ${sent:-none}, received ${got:-none}"
	case $(cat /tmp/xfer.rc 2>/dev/null) in
	0) XFER_WHY="checksum mismatch or no data" ;;
	124 | 143) XFER_WHY="the sender did not finish within its $(cat /tmp/xfer.limit) s" ;;
	*) XFER_WHY="the sender's nc failed ($(cat /tmp/xfer.rc 2>/dev/null))" ;;
	esac
	[ -n "$sent" ] && [ "$sent" = "$got" ]
}
# xfer_ok NAME [SECONDS]: xfer_check as one PASS/FAIL line.
xfer_ok() {
	if xfer_check "${2:-60}"; then pass "$1"; else fail "$1" "$XFER_WHY"; fi
}
