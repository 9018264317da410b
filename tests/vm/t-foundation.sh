# SPDX-License-Identifier: GPL-2.0
# The foundation: load, list, attach/show/set/detach, errors, permissions,
# events, auto-detach, ordering, churn under traffic, unload, leaks.
set -u
. "$TOP/tests/vm/lib.sh"
trap topo_down EXIT

# --- load and list
if load_modules; then pass load; else fail load "insmod failed"; fi
expect services-list "$(netsvcctl -j services | jq -r '[.[].name] | sort | join(",")')" "acct,police"
expect services-params "$(netsvcctl -j services | jq -r '.[] | select(.name=="acct") | [.params[] | "\(.name):\(.type):\(.live)"] | join(" ")')" \
	"top:u32:true max_flows:u32:false count_only:bool:false"
topo_up

# --- attach, exact counters for a known number of packets
expect_ok attach netsvcctl attach acct vif3.0 top=3
g ping -c 10 -i 0.2 -q 10.3.0.1 >/dev/null
expect counters-rx-icmp "$(stat vif3.0 acct rx_ipv4_icmp_packets)" 10
expect counters-tx-icmp "$(stat vif3.0 acct tx_ipv4_icmp_packets)" 10
# 10 echo requests of 84 IP bytes + 14 Ethernet bytes each
expect counters-rx-icmp-bytes "$(stat vif3.0 acct rx_ipv4_icmp_bytes)" 980
g ping -6 -c 4 -i 0.2 -q fd00:3::1 >/dev/null
# 4 echo requests, plus whatever neighbour discovery the guest did
expect_ge counters-rx-icmp6 "$(stat vif3.0 acct rx_ipv6_icmp_packets)" 4
snap=$(netsvcctl -j show vif3.0); fw=$(jstat "$snap" acct rx_packets); cls=0
for c in ipv4_tcp ipv4_udp ipv4_icmp ipv6_tcp ipv6_udp ipv6_icmp arp other; do
	cls=$((cls + $(jstat "$snap" acct rx_${c}_packets)))
done
expect counters-framework-matches-service "$fw" "$cls"
if netsvcctl show vif3.0 | grep -q '^vif3.0: acct (prio 100)$'; then pass show-text; else fail show-text "no header line"; fi
if netsvcctl -j show | jq -e 'type == "array" and length == 1' >/dev/null; then pass show-json; else fail show-json "invalid JSON"; fi

# --- flows: a TCP transfer shows up as the heaviest flow
iperf3 -s -D -1 -B 10.3.0.1 >/dev/null 2>&1; sleep 0.5
g iperf3 -c 10.3.0.1 -n 2M -f m >/dev/null 2>&1
name=$(netsvcctl -j show vif3.0 | jq -r '.[0].stats | keys_unsorted[] | select(startswith("flow0 "))')
case $name in "flow0 rx tcp 10.3.0.2:"*">10.3.0.1:5201 bytes") pass top-flow ;; *) fail top-flow "flow0 is '$name'" ;; esac

# --- set
expect_ok set-live netsvcctl set acct vif3.0 top=1
expect set-applied "$(stat vif3.0 acct top)" 1

# --- a full flow table: 200 one-packet UDP flows into 16 places.  A new
# flow whose bucket holds one replaces the lightest there (freed after a
# grace period, see acct.c), one whose bucket is empty goes untracked.
netsvcctl detach acct vif3.0
expect_ok attach-small-table netsvcctl attach acct vif3.0 max_flows=16 top=32
g bash -c 'for p in $(seq 20001 20200); do echo x > /dev/udp/10.3.0.1/$p; done' 2>/dev/null
snap=$(netsvcctl -j show vif3.0)
expect table-full "$(jstat "$snap" acct flows)" 16
expect_ge table-evictions "$(jstat "$snap" acct flow_evictions)" 1
expect_ge table-all-counted "$(( $(jstat "$snap" acct flow_evictions) + $(jstat "$snap" acct flows_untracked) ))" 184
expect table-top-listed "$(jq '[.[0].stats | keys_unsorted[] | select(test("^flow[0-9]+ "))] | length' <<< "$snap")" 16
netsvcctl detach acct vif3.0
netsvcctl attach acct vif3.0 top=1

# --- bad input: exact words, exit 1; usage errors exit 2
P=netsvcctl
expect_err err-no-device 1 "$P: attach: vif9.0: no such device" $P attach acct vif9.0
expect_err err-unknown-service 1 "$P: attach: foo: unknown service (no module provides it)" $P attach foo vif3.0
expect_err err-already 1 "$P: attach: acct: service 'acct' is already attached to vif3.0" $P attach acct vif3.0
expect_err err-not-attached 1 "$P: detach: acct: service 'acct' is not attached to lo" $P detach acct lo
expect_err err-unknown-param 1 "$P: attach: bogus=1: unknown parameter for service 'acct' (known: top, max_flows, count_only)" $P attach acct lo bogus=1
expect_err err-not-number 1 "$P: attach: top=abc: value for 'top' is not a number" $P attach acct lo top=abc
expect_err err-range 1 "$P: attach: top=99: value for 'top' is out of range [0, 32]" $P attach acct lo top=99
expect_err err-bool 1 "$P: attach: count_only=maybe: value for 'count_only' is not a boolean (use 0/1, yes/no, on/off)" $P attach acct lo count_only=maybe
expect_err err-not-live 1 "$P: set: max_flows=20: parameter 'max_flows' cannot be changed while attached (detach and attach again)" $P set acct vif3.0 max_flows=20
expect_err err-set-nothing 2 "Usage: $P set SERVICE IFACE key=value ..." $P set acct vif3.0
expect_err err-prio-range 1 "$P: attach: 5000: integer out of range" $P attach acct lo prio 5000
expect_err err-usage 2 "Usage: $P attach SERVICE IFACE|--domain NAME [prio N] [key=value ...]" $P attach acct
expect_err err-unknown-cmd 2 "$P: unknown command 'frob' (try '$P help')" $P frob
expect_err err-kv 2 "$P: attach: expected key=value, got 'top'" $P attach acct lo top
expect nothing-half-attached "$(netsvcctl -j show lo | jq length)" 0

# --- permissions
expect_err eperm 1 "$P: attach: operation not permitted (need CAP_NET_ADMIN)" \
	setpriv --reuid 1000 --regid 1000 --clear-groups $P attach acct lo
if setpriv --reuid 1000 --regid 1000 --clear-groups $P show >/dev/null; then pass unprivileged-show; else fail unprivileged-show "show refused"; fi

# --- events and auto-detach when the vif disappears
netsvcctl monitor > /tmp/events 2>&1 & mon=$!
sleep 0.5
ip link add vif5.0 type veth peer name vif5.0p
netsvcctl attach acct vif5.0; netsvcctl set acct vif5.0 top=2; netsvcctl detach acct vif5.0
netsvcctl attach acct vif5.0
ip link del vif5.0
sleep 0.5; kill $mon
expect events "$(tr '\n' ';' < /tmp/events)" \
	"attached acct vif5.0;reconfigured acct vif5.0;detached acct vif5.0;attached acct vif5.0;dev-gone acct vif5.0;"
expect auto-detach "$(netsvcctl -j show | jq '[.[] | select(.ifname == "vif5.0")] | length')" 0

# --- order: police closer to the guest (prio 10) hides what it drops from
# acct (prio 20); with acct at prio 5, acct sees everything.
netsvcctl detach acct vif3.0
netsvcctl attach police vif3.0 prio 10 rate=1000 burst=1600
netsvcctl attach acct vif3.0 prio 20
g ping -c 20 -s 1000 -i 0.05 -q 10.3.0.1 >/dev/null 2>&1
snap=$(netsvcctl -j show vif3.0)
policed=$(jstat "$snap" police rx_policed) passed=$(jstat "$snap" police rx_passed)
seen=$(jstat "$snap" acct rx_packets)
if [ "$policed" -gt 0 ] && [ "$seen" -eq "$passed" ]; then pass order-police-first
else fail order-police-first "police passed $passed, policed $policed; acct saw $seen"; fi
netsvcctl detach acct vif3.0; netsvcctl attach acct vif3.0 prio 5
g ping -c 20 -s 1000 -i 0.05 -q 10.3.0.1 >/dev/null 2>&1
snap=$(netsvcctl -j show vif3.0)
if [ "$(jstat "$snap" police rx_policed)" -gt "$policed" ] &&
   [ "$(jstat "$snap" acct rx_ipv4_icmp_packets)" -eq 20 ]; then pass order-acct-first
else fail order-acct-first "acct saw $(jstat "$snap" acct rx_ipv4_icmp_packets) of 20 echo requests"; fi
if netsvcctl show vif3.0 | grep -A1000 '^vif3.0: acct (prio 5)$' | grep -q '^vif3.0: police (prio 10)$'
then pass order-shown; else fail order-shown "show does not list acct before police"; fi
netsvcctl detach police vif3.0; netsvcctl detach acct vif3.0

# --- churn and unload while a TCP stream flows through the vif
CHURN=$(scaled 1000 50)
iperf3 -s -D -B 10.9.0.1 >/dev/null 2>&1; sleep 0.5
ip netns exec guest iperf3 -c 10.9.0.1 -t 3600 -f m > /tmp/iperf.out 2>&1 & ip=$!
sleep 2
t0=$(date +%s)
fails=0
for i in $(seq $CHURN); do
	netsvcctl attach acct vif3.0 >/dev/null 2>&1 || fails=$((fails + 1))
	netsvcctl detach acct vif3.0 >/dev/null 2>&1 || fails=$((fails + 1))
done
echo "$CHURN attach/detach cycles: $(( $(date +%s) - t0 )) s"
expect churn-$CHURN "$fails" 0
netsvcctl attach acct vif3.0
if rmmod netsvc_acct 2>/dev/null; then fail unload-refused "rmmod succeeded while attached"; else pass unload-refused; fi
netsvcctl detach acct vif3.0
expect_ok unload-after-detach rmmod netsvc_acct
expect_ok reload insmod "$TOP/services/acct/netsvc_acct.ko"
expect_ok reattach netsvcctl attach acct vif3.0
sleep 2
expect_ge counts-after-reattach "$(stat vif3.0 acct rx_ipv4_tcp_packets)" 1
# The same connection carried on through all of it; SIGINT ends the client
# with its summary.
if kill -0 $ip 2>/dev/null; then
	kill -INT $ip; wait $ip
	if grep -q 'sender$' /tmp/iperf.out && ! grep -qi 'error\|reset' /tmp/iperf.out
	then pass traffic-survived; else fail traffic-survived "$(tail -3 /tmp/iperf.out)"; fi
	grep 'sender$' /tmp/iperf.out
else
	fail traffic-survived "iperf3 ended early: $(tail -3 /tmp/iperf.out)"
fi

# --- teardown: unload everything, every created attachment destroyed
topo_down
expect_ok unload-all sh -c "rmmod netsvc_police && rmmod netsvc_acct && rmmod netsvc"
created=$(dmesg | grep -c 'netsvc: attachment .* created')
destroyed=$(dmesg | grep -c 'netsvc: attachment .* destroyed')
echo "attachments created $created, destroyed $destroyed"
if [ "$created" -gt "$CHURN" ] && [ "$created" -eq "$destroyed" ]; then pass leak-check
else fail leak-check "created $created, destroyed $destroyed"; fi
summary
