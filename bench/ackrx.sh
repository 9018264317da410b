# SPDX-License-Identifier: GPL-2.0
# where: xen
# The ack service's rx direction in the vSnoop setting, on the emulated Xen
# host: a remote sender in Dom0 (namespace "remote", 10 ms RTT through netem)
# downloads MB MiB into guest g1 while g1 shares its physical CPU with a
# CPU-bound guest (g2 spinning; both pinned to pCPU 0, Dom0 to pCPU 1).
# Goodput is measured at the guest (from just before the sender starts until
# the guest has hashed the last byte: its own clock, /proc/uptime), sha256
# checked there.  Two guest profiles: the receive buffer capped at 256 KiB
# (tcp_rmem max, as many appliance and older guests run) and Linux's default;
# and the default guest with g2 idle.  Without and with `ack dir=rx`
# alternate within each round; medians of ROUNDS rounds.
set -u
. "$TOP/tests/xen/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-3} MB=${MB:-10}
v1=$(guest_vif g1) ip1=$(guest_ip g1)
out=/tmp/bench; mkdir -p $out
lost=0

modprobe netsvc_ack || exit 1
sched=$(xl info | sed -n 's/^xen_scheduler *: *//p')
echo "scheduler: $sched"
[ "$sched" = credit2 ] && xl sched-credit2 -s
xl sched-credit -s 2>/dev/null
xl vcpu-pin Domain-0 all 1 > /dev/null
xl vcpu-pin g1 all 0 > /dev/null
xl vcpu-pin g2 all 0 > /dev/null
xl vcpu-list
uplink_netem "delay 5ms limit 10000"
head -c $((MB << 20)) /dev/urandom > /tmp/src.ackrx
sum=$(sha256sum < /tmp/src.ackrx | cut -d' ' -f1)

busy() {	# busy on|off: g2 spins, or not
	if [ "$1" = on ]; then
		gx g2 'sh -c "while :; do :; done" > /dev/null 2>&1 & echo $! > /tmp/busy.pid'
	else
		gx g2 'kill $(cat /tmp/busy.pid) 2> /dev/null; rm -f /tmp/busy.pid'
	fi
}
rmem() { gx g1 "echo '4096 131072 $1' > /proc/sys/net/ipv4/tcp_rmem"; }
ack() {	# ack on|off
	if [ "$1" = on ]; then netsvcctl attach ack "$v1" dir=rx > /dev/null
	else netsvcctl detach ack "$v1" > /dev/null; fi
}
# dl: one download into g1; prints its goodput in Mbit/s (0 if it failed)
dl() {
	local t0 t1 got i
	gx g1 "rm -f /tmp/r.sha /tmp/r.end; (sleep 1000 | nc -l -p 9000 | sha256sum > /tmp/r.sha; cut -d' ' -f1 /proc/uptime > /tmp/r.end) < /dev/null > /dev/null 2>&1 &"
	t0=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	ip netns exec remote socat -u FILE:/tmp/src.ackrx TCP:$ip1:9000
	for i in $(seq 600); do
		t1=$(gx g1 "cat /tmp/r.end 2> /dev/null")
		[ -n "$t1" ] && break
		sleep 0.5
	done
	got=$(gx g1 "cat /tmp/r.sha" | cut -d' ' -f1)
	gx g1 "busybox killall sleep 2> /dev/null"
	if [ -z "$t1" ] || [ "$got" != "$sum" ]; then
		lost=$((lost + (MB << 20)))
		echo 0
		return
	fi
	awk -v a="$t0" -v b="$t1" -v mb="$MB" 'BEGIN { printf "%.3f\n", mb * 8 * 1.048576 / (b - a) }'
}

for r in $(seq "$ROUNDS"); do
	busy on
	rmem 262144
	dl >> $out/cap_off; ack on; dl >> $out/cap_on; ack off
	rmem 6291456
	dl >> $out/def_off; ack on; dl >> $out/def_on; ack off
	busy off
	dl >> $out/idle_off; ack on; dl >> $out/idle_on; ack off
	echo "round $r (Mbit/s, without/with ack): capped+busy $(tail -n1 $out/cap_off)/$(tail -n1 $out/cap_on)," \
	     "default+busy $(tail -n1 $out/def_off)/$(tail -n1 $out/def_on)," \
	     "idle $(tail -n1 $out/idle_off)/$(tail -n1 $out/idle_on)"
done
rm -f /tmp/src.ackrx
for f in cap_off cap_on def_off def_on idle_off idle_on; do
	eval "$f=$(median < $out/$f)"
done
printf '%-28s %10s %10s %8s\n' "download $MB MiB into g1" without with ratio
printf '%-28s %10s %10s %8s\n' "capped 256 KiB, g2 busy" "$cap_off" "$cap_on" "$(ratio "$cap_on" "$cap_off")"
printf '%-28s %10s %10s %8s\n' "default guest, g2 busy" "$def_off" "$def_on" "$(ratio "$def_on" "$def_off")"
printf '%-28s %10s %10s %8s\n' "default guest, g2 idle" "$idle_off" "$idle_on" "$(ratio "$idle_on" "$idle_off")"
echo "BENCH ack_rx_contended_speedup $(ratio "$cap_on" "$cap_off")"
echo "BENCH ack_rx_contended_default_ratio $(ratio "$def_on" "$def_off")"
echo "BENCH ack_rx_idle_ratio $(ratio "$idle_on" "$idle_off")"
echo "BENCH ack_rx_bytes_lost $lost"
