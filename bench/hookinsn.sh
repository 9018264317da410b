# SPDX-License-Identifier: GPL-2.0
# where: insn
# What the hooks cost per packet, in guest instructions: 64-byte UDP
# datagrams from the guest through its vif to a Dom0 socket (rx: the vif's
# ingress hooks) and back (tx: its egress hooks), with no netsvc,
# netsvc loaded and idle, the null service attached (the framework's own
# cost) and acct attached.  Runs with the instruction-count plugin
# (bench/insn/insncount.c; bench/run boots the VM with it): unlike
# throughput under TCG, a count does not move with the host's load, so
# differences of 1 % show.
#
# bench/insn/udpinsn sends PACKETS datagrams in batches of BATCH, each batch
# bracketed by markers; its whole way (send, veth, the vif's ingress hook, IP,
# UDP, the socket's queue) runs in the sender's context, and the receiver
# reads between batches, outside the count.  The count covers the whole VM,
# so a timer tick or a kworker that runs during a batch counts too: that, and
# nothing else, is the spread between rounds.  insn_noop_ratio is
# instructions per packet without netsvc over those with null attached: the
# fraction of packets per second kept where the path is CPU-bound.
#
# Then one profiling run per configuration: the instructions of each kernel
# function per packet (blocks attributed by their start address through
# /proc/kallsyms, user space as one), heaviest first, and what each step
# (netsvc loaded, null attached, acct instead of null) adds to each function.
#
# bench/hookinsn.sh [ROUNDS=N] [PACKETS=N] [BATCH=N] [TOPN=N] (the
# environment does not reach the VM: hence arguments), e.g.
# VM_INSN=1 tests/vm/run bench/hookinsn.sh ROUNDS=3.
set -u
. "$TOP/tests/vm/lib.sh"
. "$TOP/bench/lib.sh"
for a in "$@"; do
	case $a in
	ROUNDS=* | PACKETS=* | BATCH=* | TOPN=*) declare "$a" ;;
	*) echo "hookinsn: unknown argument $a" >&2; exit 2 ;;
	esac
done
ROUNDS=${ROUNDS:-5} PACKETS=${PACKETS:-10000} BATCH=${BATCH:-1000} TOPN=${TOPN:-20}
OUT=/results/insn
UDPINSN=$TOP/build/insn/udpinsn
CONFIGS="none idle null acct" DIRS="rx tx"
[ -s "$UDPINSN" ] || { echo "FAIL hookinsn: no $UDPINSN (make insn)"; exit 1; }
[ -f "$OUT" ] || { echo "FAIL hookinsn: no $OUT: the VM runs without the plugin (VM_INSN=1 tests/vm/run)"; exit 1; }
# Until the kernel's random generator is seeded, every random number it hands
# out extracts entropy (blake2s, chacha: a thousand instructions a datagram,
# measured): VM_INSN gives the VM a virtio-rng device to seed it from.
modprobe virtio-rng 2>/dev/null
for i in $(seq 100); do dmesg | grep -q 'crng init done' && break; sleep 0.1; done
dmesg | grep -q 'crng init done' || { echo "FAIL hookinsn: the random generator is not seeded (no virtio-rng?)"; exit 1; }
trap topo_down EXIT
topo_up
# UDP never confirms its neighbour: after its reachable time the sender's
# entry for the receiver goes stale and is probed, and packets take the
# slower output path meanwhile (a hundred instructions each, measured).
# Permanent entries keep every configuration on the same path.
ip -n guest neigh replace 10.3.0.1 lladdr "$(cat /sys/class/net/vif3.0/address)" dev eth0 nud permanent
ip neigh replace 10.3.0.2 lladdr "$(ip netns exec guest cat /sys/class/net/eth0/address)" dev vif3.0 nud permanent
out=/tmp/bench
mkdir -p $out

load() {
	insmod "$TOP/kmod/netsvc.ko" && insmod "$TOP/services/null/netsvc_null.ko" &&
	insmod "$TOP/services/acct/netsvc_acct.ko"
}
unload() { rmmod netsvc_acct netsvc_null; rmmod netsvc; }
# use CONFIG: netsvc loaded or not, and CONFIG's service attached to vif3.0.
use() {
	local s
	if lsmod | grep -q '^netsvc '; then
		for s in $(netsvcctl -j show vif3.0 | jq -r '.[].service'); do
			netsvcctl detach "$s" vif3.0 || return 1
		done
		[ "$1" = none ] && { unload || return 1; }
	elif [ "$1" != none ]; then
		load || return 1
	fi
	case $1 in none | idle) ;; *) netsvcctl attach "$1" vif3.0 ;; esac
}
# measure DIR CONFIG [UDPINSN OPTIONS]: instructions per packet, guest ->
# Dom0 (rx: the vif's ingress hooks) or Dom0 -> guest (tx: its egress hooks)
measure() {
	local d=$1 c=$2 r; shift 2
	use "$c" || return 1
	if [ $d = rx ]; then set -- "$@" $OUT /run/netns/guest 10.3.0.1 9000
	else set -- -r "$@" $OUT /run/netns/guest 10.3.0.2 9000; fi
	r=$("$UDPINSN" -n "$PACKETS" -b "$BATCH" "$@") ||
		{ echo "FAIL hookinsn: udpinsn ($d $c): $r" >&2; return 1; }
	echo "$r" | awk -v c="$d $c" '$1 == "batch" { b = b " " $3 } $1 == "packets" { print $NF; print "  " c " batches:" b > "/dev/stderr" }'
}

for r in $(seq "$ROUNDS"); do
	order=$CONFIGS
	[ $((r % 2)) -eq 0 ] && order=$(echo $CONFIGS | tr ' ' '\n' | tac | tr '\n' ' ')
	for d in $DIRS; do
		line="round $r, $d:"
		for c in $order; do
			v=$(measure $d $c) || exit 1
			echo "$v" >> $out/$d.$c
			line="$line $c $v,"
		done
		for c in idle null acct; do
			ratio "$(tail -n1 $out/$d.none)" "$(tail -n1 $out/$d.$c)" >> $out/$d.$c.ratio
		done
		echo "${line%,} insns/packet"
	done
done
use none

declare -A med spread rat
for d in $DIRS; do
	for c in $CONFIGS; do
		med[$d.$c]=$(median < $out/$d.$c)
		spread[$d.$c]=$(sort -g $out/$d.$c | awk -v m="${med[$d.$c]}" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f", (hi - lo) / m * 100 }')
		if [ $c = none ]; then rat[$d.$c]=1.000; else rat[$d.$c]=$(median < $out/$d.$c.ratio | xargs printf %.3f); fi
	done
	[ $d = rx ] && what="guest -> dom0, 64 B UDP" || what="dom0 -> guest, 64 B UDP"
	printf '\n%-28s %14s %12s %8s\n' "$what" "insns/packet" "spread %" "ratio"
	for c in $CONFIGS; do
		case $c in
		none) what="no netsvc" ;; idle) what="netsvc loaded, idle" ;;
		null) what="null attached" ;; acct) what="acct attached" ;;
		esac
		printf '%-28s %14.1f %12s %8.3f\n' "$what" "${med[$d.$c]}" "${spread[$d.$c]}" "${rat[$d.$c]}"
	done
done
echo "(medians of $ROUNDS rounds of $PACKETS packets; spread: (max - min) / median; ratio: no netsvc / this, medians of each round's)"

# The profile: one run per configuration, functions resolved while loaded.
# resolve PROFILE: "instructions/packet function" lines, heaviest first.
resolve() {
	{ awk '$2 ~ /^[tTwW]$/ { print $1, 0, $3 ($4 != "" ? $4 : "") }' /proc/kallsyms
	  awk '{ print $1, 1, $2 }' "$1"; } | sort -k1,1 -k2,2n |
	awk -v pk="$PACKETS" '$2 == 0 { sym = $3; next }
		{ n[$1 < "ffff800000000000" ? "[user]" : sym] += $3 }
		END { for (s in n) printf "%.1f %s\n", n[s] / pk, s }' | sort -k1,1gr
}
for d in $DIRS; do
	for c in $CONFIGS; do
		use $c || exit 1
		measure $d $c -p $out/$d.$c.prof > /dev/null || exit 1
		resolve $out/$d.$c.prof > $out/$d.$c.fn
		echo
		echo "profile, $d, $c: instructions per packet by function (top $TOPN of $(awk '{ s += $1 } END { printf "%.0f", s }' $out/$d.$c.fn))"
		head -n "$TOPN" $out/$d.$c.fn | awk '{ printf "  %10.1f  %s\n", $1, $2 }'
	done
	# What each step adds: loading netsvc (its hook keys), the null service
	# (the framework's own path), acct over null (acct's own).
	for step in "none idle" "idle null" "null acct" "none acct"; do
		set -- $step
		echo
		echo "$d, $2 against $1: functions whose instructions per packet differ by 1 or more"
		awk 'FNR == NR { base[$2] = $1; next } { d = $1 - base[$2]; delete base[$2]; if (d >= 1 || d <= -1) printf "%.1f %s\n", d, $2 }
		     END { for (s in base) if (base[s] >= 1) printf "%.1f %s\n", -base[s], s }' $out/$d.$1.fn $out/$d.$2.fn |
			sort -k1,1gr | awk '{ printf "  %+10.1f  %s\n", $1, $2 }'
	done
done
use none

for d in $DIRS; do
	[ $d = rx ] && k=hook_insn || k=hook_insn_tx
	for c in $CONFIGS; do echo "BENCH ${k}_per_pkt_$c ${med[$d.$c]}"; done
	echo "BENCH ${k}_idle_ratio ${rat[$d.idle]}"
	echo "BENCH ${k}_noop_ratio ${rat[$d.null]}"
	echo "BENCH ${k}_attached_ratio ${rat[$d.acct]}"
done
echo "BENCH hook_insn_spread_pct $(for k in "${!spread[@]}"; do echo ${spread[$k]}; done | sort -g | tail -n1)"
