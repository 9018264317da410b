# SPDX-License-Identifier: GPL-2.0
# Test helpers for scripts that run inside the VM (tests/vm/run).
#
#  ┌─────────────────────┐     ┌──────────────────────────────┐     ┌─────────────────────┐
#  │ ns "guest"          │     │ Dom0 (root ns)               │     │ ns "remote"         │
#  │ eth0 10.3.0.2/24    ├─────┤ vif3.0 10.3.0.1/24           │     │                     │
#  │      fd00:3::2/64   │veth │        fd00:3::1/64          │     │ eth0 10.9.0.2/24    │
#  └─────────────────────┘     │ up0    10.9.0.1/24 fd00:9::1 ├─────┤      fd00:9::2/64   │
#                              │ (routes, forwarding on)      │veth │ (netem on both ends)│
#                              └──────────────────────────────┘     └─────────────────────┘
# vif3.0 is named like netback's Dom0 end of a guest's netfront.  The guest
# reaches the remote through Dom0, which routes; netem on up0 and on the
# remote's eth0 plays the WAN.

PASSED=0 FAILED=0
pretty() { printf '[+] %s: %s\n' "$1" "${*:2}"; }
g() { pretty guest "$*"; ip netns exec guest "$@"; }
r() { pretty remote "$*"; ip netns exec remote "$@"; }
d0() { pretty dom0 "$*"; "$@"; }
# iputils is not installed on the host: busybox's ping, for every namespace.
mkdir -p /tmp/bin && ln -sf "$(command -v busybox || echo /bb/busybox)" /tmp/bin/ping
PATH=/tmp/bin:$PATH

# scaled N [MIN]: a count or size, N at VM_SCALE percent (tests/vm/run
# passes it; 100 unless set, the debug lane sets less), and at least MIN
# (default 1).  The checks stay the same, only how much they run on shrinks.
VM_SCALE=$(cat /results/scale 2>/dev/null || echo 100)
scaled() { local n=$(( $1 * VM_SCALE / 100 )); [ "$n" -ge "${2:-1}" ] || n=${2:-1}; echo "$n"; }
[ "$VM_SCALE" = 100 ] || echo "sizes at VM_SCALE=$VM_SCALE%"

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
# skip NAME WHY: a check this machine cannot run, and why (counted as neither).
skip() { echo "SKIP $1: $2"; }
# expect NAME GOT WANT
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
# expect_ok NAME CMD... / expect_fail NAME CODE WANT_STDERR CMD...
expect_ok() { local n=$1 out; shift; if out=$("$@" 2>&1); then pass "$n"; else fail "$n" "'$*' failed: $out"; fi; }
expect_err() {
	local n=$1 code=$2 want=$3 out rc; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" != "$code" ]; then fail "$n" "'$*' exited $rc, want $code ($out)"
	elif [ "$out" != "$want" ]; then fail "$n" "'$*' said '$out', want '$want'"
	else pass "$n"; fi
}
# expect_ge NAME GOT MIN
expect_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want >= $3"; fi
}
summary() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; }

# stat IFACE SERVICE NAME: a service stat, or framework counter, from show -j.
stat() { jstat "$(netsvcctl -j show "$1")" "$2" "$3"; }
# jstat JSON SERVICE NAME: the same, from one snapshot of show -j.
jstat() {
	jq -r --arg s "$2" --arg n "$3" \
		'.[] | select(.service == $s) | (.stats[$n] // .counters[$n] // .params[$n])' <<< "$1"
}
# stat_sum DEV SERVICE NAME...: the sum of those counters, from one snapshot
# (netsvcctl is slow on the debug kernel under TCG: one call a poll).
stat_sum() {
	local dev=$1 svc=$2; shift 2
	netsvcctl -j show "$dev" | jq -r --arg s "$svc" --arg k "$*" \
		'[.[] | select(.service == $s) | . as $o | ($k | split(" "))[] |
		  ($o.stats[.] // $o.counters[.] // 0)] | add'
}

topo_up() {
	modprobe veth; modprobe sch_netem 2>/dev/null
	ip netns add guest; ip netns add remote
	ip link add vif3.0 type veth peer name eth0 netns guest
	ip link add up0 type veth peer name eth0 netns remote
	ip addr add 10.3.0.1/24 dev vif3.0; ip addr add fd00:3::1/64 dev vif3.0 nodad
	ip addr add 10.9.0.1/24 dev up0; ip addr add fd00:9::1/64 dev up0 nodad
	ip link set vif3.0 up; ip link set up0 up; ip link set lo up
	ip -n guest addr add 10.3.0.2/24 dev eth0; ip -n guest addr add fd00:3::2/64 dev eth0 nodad
	ip -n remote addr add 10.9.0.2/24 dev eth0; ip -n remote addr add fd00:9::2/64 dev eth0 nodad
	for n in guest remote; do ip -n $n link set eth0 up; ip -n $n link set lo up; done
	ip -n guest route add default via 10.3.0.1; ip -n guest -6 route add default via fd00:3::1
	ip -n remote route add default via 10.9.0.1; ip -n remote -6 route add default via fd00:9::1
	sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

topo_down() {
	ip link del vif3.0 2>/dev/null; ip link del up0 2>/dev/null
	ip netns del guest 2>/dev/null; ip netns del remote 2>/dev/null
	return 0
}

# listening NS PORT: wait up to 10 s until something in namespace NS ("" for
# the root namespace) listens on TCP PORT; a fixed sleep loses that race on a
# loaded emulator.
listening() {
	local i
	for i in $(seq 100); do
		if [ -n "$1" ]; then ip netns exec "$1" ss -Hltn "sport = :$2"; else ss -Hltn "sport = :$2"; fi | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# underway KEY...: wait (up to 60 s) until the sum of ack's counters KEY on
# vif3.0 has grown by 10 from where it was at the call: a background transfer
# is under way once Dom0 has acknowledged some of it (rx: in its own ACKs or
# the guest's passed on, rx_local_acks rx_acks_prompt).  A fixed sleep is not enough: on
# the debug kernel beside another emulator the sending socat was still
# starting 2 s later, and the step meant for the middle of a download ran
# before its SYN (measured 2026-12-05).
underway() {
	local i base
	# (a poll that took a snapshot a counter missed the middle of a 4 s
	# download on the debug kernel)
	base=$(stat_sum vif3.0 ack "$@")
	for i in $(seq 300); do
		[ "$(stat_sum vif3.0 ack "$@")" -ge $((base + 10)) ] && return 0
		sleep 0.2
	done
	echo "  nothing under way: ack's $* stayed at $(stat_sum vif3.0 ack "$@") (from $base) for 60 s"
	return 1
}

# xfer_watch TO PORT: while a transfer to namespace TO's PORT runs, print
# once what both ends and Dom0 hold when the receiver has taken no byte for
# XFER_STALL seconds (default 10): a stall is diagnosed where it happens, not
# after a reset or a timeout has cleared the state.
xfer_watch() {
	local to=$1 port=$2 last= n=0 cur
	stall_flows() { cat /sys/kernel/debug/netsvc_ack/flows 2>/dev/null | sed 's/^/  stall: /'; }
	while sleep 1; do
		cur=$(ip netns exec "$to" ss -Htin state established "sport = :$port" |
			grep -o 'bytes_received:[0-9]*' | head -n1)
		if [ -z "$cur" ] || [ "$cur" != "$last" ]; then last=$cur n=0; continue; fi
		n=$((n + 1))
		# then Dom0's flows again every 10 s: are its timers running?
		if [ $n -gt "${XFER_STALL:-10}" ] && [ $((n % 10)) -eq 0 ]; then
			echo "  stall: after $n s"
			stall_flows
		fi
		[ $n -eq "${XFER_STALL:-10}" ] || continue
		echo "  stall: port $port, receiver at $cur for $n s"
		stall_flows
		nstat -as | awk '$2 != 0 && /Ip|Drop|Discard|Err/' | sed 's/^/  stall: dom0 nstat /'
		ip netns exec "$to" ss -tinoem "sport = :$port" 2>/dev/null | sed 's/^/  stall: rx /'
		for ns in remote guest; do
			[ "$ns" = "$to" ] && continue
			ip netns exec "$ns" ss -tinoem "dport = :$port" 2>/dev/null | sed "s/^/  stall: tx $ns /"
		done
		ip netns exec "$to" nstat -as | awk '$2 != 0 && /Tcp|Drop|Prune|PAWS|Csum|OFO|Err/' |
			sed 's/^/  stall: nstat /'
		command -v netsvcctl >/dev/null && netsvcctl show vif3.0 2>&1 | sed 's/^/  stall: /'
		tc -s qdisc show dev vif3.0 2>&1 | sed 's/^/  stall: qdisc /'
	done
}

# csum_errors: IP and TCP checksum errors seen in Dom0, the guest and the
# remote (topo_up's namespaces) since boot.  Every packet netsvc builds must
# arrive intact; on a kernel whose fresh skb memory is not zero, a header
# summed over stale bytes is dropped here (measured on the debug kernel).
csum_errors() {
	local ns n=0 v
	for ns in "" guest remote; do
		v=$(${ns:+ip netns exec $ns} nstat -asz IpExtInCsumErrors TcpInCsumErrors |
			awk '$1 ~ /CsumErrors/ { s += $2 } END { print s + 0 }')
		n=$((n + v))
	done
	echo $n
}

# tcp_xfer NAME MB FROM TO DST PORT [LISTEN_OPTS]: MB MiB of random data
# from namespace FROM to TO listening at DST:PORT (IPv4 or IPv6), sha256
# compared at the receiver; one PASS/FAIL line; XFER_SECS: how long it took.
tcp_xfer() {
	local name=$1 mb=$2 from=$3 to=$4 dst=$5 port=$6 opts=${7:-} sent got rx rc t0
	local f=${name//[^a-zA-Z0-9_.-]/_}
	head -c $((mb << 20)) /dev/urandom > /tmp/src.$f
	sent=$(sha256sum < /tmp/src.$f | cut -d' ' -f1)
	local l=TCP-LISTEN:$port,reuseaddr$opts c=TCP:$dst:$port
	case $dst in *:*) l=TCP6-LISTEN:$port,reuseaddr$opts c=TCP6:[$dst]:$port ;; esac
	ip netns exec "$to" sh -c "socat -u $l - | sha256sum > /tmp/dst.$f" & rx=$!
	listening "$to" "$port"
	t0=$(date +%s.%N)
	xfer_watch "$to" "$port" & local watch=$!
	ip netns exec "$from" socat -u FILE:/tmp/src.$f $c
	rc=$?
	wait $rx
	kill $watch 2>/dev/null; wait $watch 2>/dev/null
	XFER_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	got=$(cut -d' ' -f1 < /tmp/dst.$f)
	rm -f /tmp/src.$f
	if [ $rc -eq 0 ] && [ "$sent" = "$got" ]; then pass "$name"
	else fail "$name" "socat rc $rc, sha256 sent $sent got $got"; fi
}

# tcp_xfer_bg NAME MB FROM TO DST PORT: the same in the background;
# tcp_xfer_wait NAME waits for it and checks it.
tcp_xfer_bg() {
	local name=$1 from=$3 to=$4 dst=$5 port=$6
	head -c $(($2 << 20)) /dev/urandom > /tmp/src.$name
	sha256sum < /tmp/src.$name | cut -d' ' -f1 > /tmp/sum.$name
	ip netns exec "$to" sh -c "socat -u TCP-LISTEN:$port,reuseaddr - | sha256sum > /tmp/dst.$name" &
	echo $! > /tmp/rxpid.$name
	listening "$to" "$port"
	ip netns exec "$from" socat -u FILE:/tmp/src.$name TCP:$dst:$port 2>/tmp/err.$name &
	echo $! > /tmp/txpid.$name
}
tcp_xfer_wait() {
	local name=$1 rc
	wait "$(cat /tmp/txpid.$name)"; rc=$?
	wait "$(cat /tmp/rxpid.$name)"
	if [ $rc -eq 0 ] && [ "$(cat /tmp/sum.$name)" = "$(cut -d' ' -f1 < /tmp/dst.$name)" ]; then pass "$name"
	else fail "$name" "socat rc $rc $(cat /tmp/err.$name), sha256 differs"; fi
	rm -f /tmp/src.$name
}

# uplink_netem "delay 25ms loss 1%": the WAN, applied in both directions.
uplink_netem() {
	tc qdisc replace dev up0 root netem $1
	ip netns exec remote tc qdisc replace dev eth0 root netem $1
}

load_modules() {
	insmod "$TOP/kmod/netsvc.ko" || return 1
	echo 'module netsvc +p' > /sys/kernel/debug/dynamic_debug/control
	insmod "$TOP/services/acct/netsvc_acct.ko" && insmod "$TOP/services/police/netsvc_police.ko"
}
