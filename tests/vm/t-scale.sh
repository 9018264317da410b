# SPDX-License-Identifier: GPL-2.0
# Scale: one vif with 10,000 concurrent TCP flows through ack (memory per
# flow from its stats; the flows beyond flow_limit pass end to end, counted),
# then many vifs with services attached, created and destroyed in parallel
# under traffic, round after round, with no growth in slab use.
#
#   guest ns ── vif3.0 (ack, flow_limit=9000) ── Dom0 ── up0 ── remote ns
#   s1..sK ns ── vif1N.0 (acct, police, ack) ── Dom0 (socat sink :7000)
set -u
. "$TOP/tests/vm/lib.sh"
# Arguments: flows, flow_limit, vifs per round, rounds (tests/vm/run passes
# them).  Defaults: what was measured to fit the suite (145 s); the full run
# is tests/vm/run tests/vm/t-scale.sh 10000 9000 12 6.  Flows and limit
# follow VM_SCALE (tests/vm/lib.sh scaled).
NF=${1:-$(scaled 2000 200)} LIMIT=${2:-$(scaled 1500 150)} NV=${3:-4} ROUNDS=${4:-3}
sink=
trap '[ -n "$sink" ] && kill $sink 2>/dev/null; for i in $(seq $NV); do ip netns del s$i 2>/dev/null; done; topo_down' EXIT
F=/tmp/flows
if cc -std=gnu11 -O2 -Wall -Wextra -Werror -o $F "$TOP/tests/vm/flows.c" 2>/tmp/cc.err
then pass flows-build; else fail flows-build "$(head -n 3 /tmp/cc.err)"; summary; exit 1; fi
load_modules || { fail load "insmod"; summary; exit 1; }
insmod "$TOP/services/ack/netsvc_ack.ko" || fail load-ack "insmod netsvc_ack"
topo_up

# --- 1. $NF concurrent flows through one vif
ip netns exec remote sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
ip netns exec guest sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
d0 netsvcctl attach ack vif3.0 flow_limit=$LIMIT
ip netns exec remote $F -s 9500 "$NF" > /tmp/srv.out 2>&1 & srv=$!
listening remote 9500 || fail flows-listen "no listener on 9500"
t0=$(date +%s)
pretty guest "$F -c 10.9.0.2 9500 $NF 40"
ip netns exec guest $F -c 10.9.0.2 9500 "$NF" 40 > /tmp/cli.out 2>&1 & cli=$!
for i in $(seq 600); do grep -q '^open' /tmp/cli.out && break; kill -0 $cli 2>/dev/null || break; sleep 0.5; done
sleep 2
j=$(netsvcctl -j show vif3.0)
flows=$(jstat "$j" ack flows) untracked=$(jstat "$j" ack flows_untracked) mem=$(jstat "$j" ack mem_bytes)
echo "flows: $(head -n1 /tmp/cli.out) after $(( $(date +%s) - t0 )) s; ack stats: $(jq -c '.[] | select(.service == "ack") | .stats' <<< "$j")"
expect flows-open "$(head -n1 /tmp/cli.out)" "open $NF"
expect flows-tracked "$flows" "$LIMIT"
# Every handshake the table had no room for is counted (a SYN and its
# SYN-ACK may both be, so at least one per flow beyond the limit).
expect_ge flows-untracked "$untracked" 1
if [ "${flows:-0}" -gt 0 ] 2>/dev/null; then
	pass "flows-mem-per-flow ($((mem / flows)) bytes per tracked flow, $((mem >> 10)) KiB for $flows)"
fi
wait $cli; crc=$?; wait $srv; src=$?
cat /tmp/cli.out /tmp/srv.out
echo "flows: ack stats after the client: $(netsvcctl -j show vif3.0 | jq -c '.[] | select(.service == "ack") | .stats')"
for ns in guest remote; do
	echo "flows: $ns: $(ip netns exec $ns nstat -asz TcpEstabResets TcpOutRsts TcpAttemptFails TcpExtTCPAbortOnTimeout TcpExtTCPAbortOnData TcpExtListenOverflows TcpExtListenDrops TcpRetransSegs | awk 'NR > 1 && $2 != 0 { printf "%s %s ", $1, $2 }')"
done
echo "flows: backlog drops per CPU: $(while read -r _ d _; do printf '%d ' $((16#$d)); done < /proc/net/softnet_stat)"
expect flows-client-completed "$crc $(tail -n1 /tmp/cli.out)" "0 client: $NF opened, $NF completed, 0 failed"
expect flows-server-bytes "$src $(cat /tmp/srv.out)" "0 server: $NF connections, $((NF * 2000)) bytes"
for i in $(seq 120); do [ "$(stat vif3.0 ack flows)" = 0 ] && break; sleep 1; done
expect flows-closed-freed "$(stat vif3.0 ack flows) $(stat vif3.0 ack kept_bytes)" "0 0"
d0 netsvcctl detach ack vif3.0
echo "flows: part 1 took $(( $(date +%s) - t0 )) s"

# --- 2. vifs with services, created and destroyed in parallel under traffic
slab_kb() { awk 'NR > 2 { s += $3 * $4 } END { print int(s / 1024) }' /proc/slabinfo; }
settle() { sleep 3; echo 2 > /proc/sys/vm/drop_caches; sleep 1; }
socat -u TCP-LISTEN:7000,fork,reuseaddr OPEN:/dev/null > /dev/null 2>&1 & sink=$!
listening "" 7000 || fail sink-listen "no listener on 7000"
vif_life() {	# vif_life I ROUND: one vif's life, start to end
	local i=$1 r=$2 v=vif1$1.0
	ip netns add s$i
	ip link add $v type veth peer name eth0 netns s$i
	ip addr add 10.200.$i.1/24 dev $v; ip link set $v up
	ip -n s$i addr add 10.200.$i.2/24 dev eth0; ip -n s$i link set eth0 up
	netsvcctl attach acct $v && netsvcctl attach police $v rate=125000000 &&
		netsvcctl attach ack $v || echo "ATTACH-FAILED $v"
	ip netns exec s$i sh -c "head -c 300000 /dev/urandom | socat -u - TCP:10.200.$i.1:7000" ||
		echo "XFER-FAILED $v"
	# Half detach first, half take the vif away with the services attached.
	if [ $(( (i + r) % 2 )) -eq 0 ]; then
		netsvcctl detach ack $v; netsvcctl detach police $v; netsvcctl detach acct $v
	fi
	ip link del $v; ip netns del s$i
}
t0=$(date +%s) errs=0
for r in $(seq "$ROUNDS"); do
	for i in $(seq "$NV"); do vif_life $i $r > /tmp/life.$i 2>&1 & done
	wait $(jobs -p | grep -vx "$sink")
	errs=$((errs + $(cat /tmp/life.* | grep -c 'FAILED')))
	[ "$r" -eq 2 ] && { settle; base=$(slab_kb); }
	echo "scale: round $r done, $(( $(date +%s) - t0 )) s, slab $(slab_kb) KiB"
done
settle; end=$(slab_kb)
expect churn-errors "$errs" 0
expect churn-attachments-gone "$(netsvcctl -j show | jq length)" 0
growth=$((end - base))
echo "scale: slab after round 2 ${base} KiB, after round $ROUNDS ${end} KiB (growth ${growth} KiB)"
# One round's worth of slack: per-CPU caches, RCU-delayed frees of netns.
if [ "$growth" -lt 1024 ]; then pass "churn-no-slab-growth (${growth} KiB over $((ROUNDS - 2)) rounds of $NV vifs)"
else fail churn-no-slab-growth "slab grew ${growth} KiB over $((ROUNDS - 2)) rounds"; fi
echo "scale: part 2 took $(( $(date +%s) - t0 )) s"
kill $sink; sink=
for m in netsvc_ack netsvc_police netsvc_acct netsvc; do expect_ok "rmmod-$m" rmmod $m; done
summary
