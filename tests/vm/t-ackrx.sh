# SPDX-License-Identifier: GPL-2.0
# The ack service's rx direction (dir=rx, dir=both): downloads from a remote
# behind a lossy, delayed uplink into the guest arrive intact (sha256 at the
# guest) while Dom0 acknowledges the remote's data and retransmits to the
# guest what the guest's path dropped (a tiny receive buffer, a qdisc that
# drops on the vif after the hook); detach and unload mid-download lose
# nothing; a guest that stops answering gets both sides reset, loudly;
# IPv6; memory returns to zero.
#
#   remote --(netem: loss, reorder, duplicate, delay)-- Dom0 [ack on vif3.0] -- guest
set -u
. "$TOP/tests/vm/lib.sh"
type scaled >/dev/null 2>&1 || scaled() { echo "$1"; }
trap topo_down EXIT
load_modules || { fail load "insmod"; summary; exit 1; }
insmod "$TOP/services/ack/netsvc_ack.ko" && pass load-ack || fail load-ack "insmod netsvc_ack"
topo_up

# dl NAME MB [GUEST_ADDR] [PORT] [LISTEN_OPTS]: remote -> guest, sha256
# compared in the guest.
dl() { tcp_xfer "$1" "$2" remote guest "${3:-10.3.0.2}" "${4:-9000}" "${5:-}"; }
# dl_bg NAME MB PORT: a download in the background; dl_wait NAME checks it.
# up_bg NAME MB PORT: an upload (guest -> remote) alongside; up_wait NAME.
dl_bg() { tcp_xfer_bg "$1" "$2" remote guest 10.3.0.2 "$3"; }
up_bg() { tcp_xfer_bg "$1" "$2" guest remote 10.9.0.2 "$3"; }
dl_wait() { tcp_xfer_wait "$1"; }
up_wait() { tcp_xfer_wait "$1"; }

# settled: no flow, nothing kept either way, the core's memory at its baseline
settled() {
	local i snap
	for i in $(seq 100); do
		snap=$(netsvcctl -j show vif3.0)
		[ "$(jstat "$snap" ack flows)" = 0 ] && [ "$(jstat "$snap" ack kept_bytes)" = 0 ] &&
			[ "$(jstat "$snap" ack rx_kept_bytes)" = 0 ] &&
			[ "$(jstat "$snap" ack mem_bytes)" = "$BASE_MEM" ] && return 0
		sleep 0.2
	done
	echo "flows $(jstat "$snap" ack flows) kept $(jstat "$snap" ack kept_bytes)/$(jstat "$snap" ack rx_kept_bytes) mem $(jstat "$snap" ack mem_bytes) (baseline $BASE_MEM)"
	return 1
}
rexmits() { stat_sum vif3.0 ack rx_rexmit_fast rx_rexmit_rto; }

BIG=$(scaled 50 5) SMALL=$(scaled 5 2) MID=$(scaled 20 5) GONE=$(scaled 50 40)
P=netsvcctl
WAN="delay 5ms 1ms loss 1% duplicate 2% reorder 5% 50%"

# --- the parameter: validated, live
uplink_netem "delay 10ms"
expect_ok attach-dir-rx $P attach ack vif3.0 dir=rx
expect param-dir-rx "$(stat vif3.0 ack dir)" rx
expect_err err-dir-value 1 "$P: set: dir=sideways: value for 'dir' is not one of tx|rx|both" \
	$P set ack vif3.0 dir=sideways
expect param-dir-unchanged "$(stat vif3.0 ack dir)" rx
expect param-rx-grace-default "$(stat vif3.0 ack rx_grace_us)" 1000
expect_err err-rx-grace-range 1 "$P: set: rx_grace_us=2000000: value for 'rx_grace_us' is out of range [0, 1000000]" \
	$P set ack vif3.0 rx_grace_us=2000000
BASE_MEM=$(stat vif3.0 ack mem_bytes)

# --- smoke: with rx_grace_us=0 Dom0 acknowledges every segment of the
# remote's at once, and the guest's ACKs are consumed
expect_ok set-rx-grace-0 $P set ack vif3.0 rx_grace_us=0
dl dl-smoke-${SMALL}mb-at-once $SMALL
echo "$SMALL MB in $XFER_SECS s"
expect_ge rx-local-acks "$(stat vif3.0 ack rx_local_acks)" 40
expect_ge rx-acks-consumed "$(stat vif3.0 ack rx_acks_consumed)" 1
expect tx-untouched-dir-rx "$(stat vif3.0 ack local_acks)" 0
expect rx-grace-0-none-prompt "$(stat vif3.0 ack rx_acks_prompt)" 0
# --- the default grace: the ACKs of a guest that answers in time go on as
# they are (its ACK clock, its windows); Dom0's own come when it is late
expect_ok set-rx-grace-default $P set ack vif3.0 rx_grace_us=1000
a0=$(stat vif3.0 ack rx_local_acks)
dl dl-smoke-${SMALL}mb-grace $SMALL
c=$(stat vif3.0 ack rx_acks_prompt) a=$(( $(stat vif3.0 ack rx_local_acks) - a0 ))
echo "  with rx_grace_us=1000: $XFER_SECS s; the guest's own ACKs passed on $c, Dom0's $a"
expect_ge rx-grace-prompt "$c" 1

# --- big downloads through a WAN that loses, reorders and duplicates
uplink_netem "$WAN"
a0=$(stat vif3.0 ack rx_local_acks)
dl "dl-${BIG}mb-dir-rx $WAN" $BIG
echo "  dir=rx: $XFER_SECS s, $(( $(stat vif3.0 ack rx_local_acks) - a0 )) local ACKs to the remote"
expect rx-no-fallback-under-wan-loss "$(stat vif3.0 ack rx_fallbacks)" 0
if settled; then pass settled-after-dir-rx; else fail settled-after-dir-rx "state left"; fi

expect_ok set-dir-both $P set ack vif3.0 dir=both
expect param-dir-both "$(stat vif3.0 ack dir)" both
t0=$(stat vif3.0 ack local_acks)
up_bg up-alongside-dir-both $SMALL 9300
dl "dl-${BIG}mb-dir-both $WAN" $BIG
up_wait up-alongside-dir-both
echo "  dir=both: $XFER_SECS s; tx local ACKs $(( $(stat vif3.0 ack local_acks) - t0 ))"
expect_ge tx-local-acks-dir-both "$(( $(stat vif3.0 ack local_acks) - t0 ))" 1
if settled; then pass settled-after-dir-both; else fail settled-after-dir-both "state left"; fi

# --- the guest's path drops: Dom0 retransmits from its copy
uplink_netem "delay 5ms"
r0=$(rexmits)
dl "dl-${SMALL}mb-tiny-rcvbuf" $SMALL 10.3.0.2 9001 ",rcvbuf=16384"
echo "  tiny rcvbuf: $XFER_SECS s, Dom0 retransmitted $(( $(rexmits) - r0 )) segments to the guest"
# netem on the vif's root qdisc runs after the egress hook: the remote's data
# is acknowledged by Dom0, then lost on its way to the guest
tc qdisc replace dev vif3.0 root netem loss 3%
r0=$(rexmits)
dl "dl-${MID}mb-vif-drops-3pct" $MID 10.3.0.2 9002
echo "  3% dropped after the hook: $XFER_SECS s, Dom0 retransmitted $(( $(rexmits) - r0 )) segments"
expect_ge rx-rexmit-after-hook-drops "$(( $(rexmits) - r0 ))" 1
tc qdisc del dev vif3.0 root
expect rx-no-fallback-guest-drops "$(stat vif3.0 ack rx_fallbacks)" 0
if settled; then pass settled-after-guest-drops; else fail settled-after-guest-drops "state left"; fi

# --- IPv6
uplink_netem "delay 5ms loss 1%"
dl "dl-ipv6-${MID}mb-dir-both" $MID fd00:3::2 9003
netsvcctl show vif3.0 | sed -n '/flows /,$p'

# --- detach in the middle of a download: drains (the guest acks what Dom0
# kept for it), then goes
uplink_netem "delay 10ms loss 1%"
dl_bg dl-detach-midway $MID 9004
underway rx_local_acks rx_acks_prompt
expect_ok detach-midway $P detach ack vif3.0
dl_wait dl-detach-midway

# --- unload in the middle of a download
$P attach ack vif3.0 dir=rx
dl_bg dl-unload-midway $MID 9005
underway rx_local_acks rx_acks_prompt
expect_ok unload-midway sh -c "$P detach ack vif3.0 && rmmod netsvc_ack"
dl_wait dl-unload-midway
insmod "$TOP/services/ack/netsvc_ack.ko"

# --- the guest stops answering: Dom0 retransmits to it, gives up after
# retry_limit timeouts and resets both sides; the remote sees an error
$P attach ack vif3.0 dir=rx retry_limit=3
BASE_MEM=$(stat vif3.0 ack mem_bytes)
uplink_netem "delay 10ms rate 40mbit"
head -c $((GONE << 20)) /dev/urandom > /tmp/src.gone
ip netns exec guest socat -u TCP-LISTEN:9006,reuseaddr OPEN:/dev/null & gpid=$!
listening guest 9006
ip netns exec remote socat -u FILE:/tmp/src.gone TCP:10.3.0.2:9006 2>/tmp/err.gone & rpid=$!
if ! underway rx_local_acks rx_acks_prompt; then fail guest-gone-midway "no download under way"
elif kill -0 $rpid 2>/dev/null; then pass guest-gone-midway
else fail guest-gone-midway "the download finished before the guest went"; fi
ip -n guest link set eth0 down
wait $rpid; rc=$?
kill $gpid 2>/dev/null
wait $gpid 2>/dev/null
rm -f /tmp/src.gone
if [ $rc -ne 0 ]; then pass guest-gone-remote-sees-error; echo "  the remote: $(cat /tmp/err.gone)"
else fail guest-gone-remote-sees-error "socat at the remote succeeded"; fi
expect_ge guest-gone-reset "$(stat vif3.0 ack resets)" 1 || netsvcctl show vif3.0
if settled; then pass guest-gone-memory-back; else fail guest-gone-memory-back "state left"; fi
ip -n guest link set eth0 up
netsvcctl show vif3.0 | sed -n '/flows /,$p'
netsvcctl detach ack vif3.0
expect dmesg-quiet "$(dmesg | grep -c 'netsvc_ack: .*\(payload copy\|vif removed\)')" 0
# Every segment ack built (local ACKs, retransmissions, resets) passed the
# receiving stack's IP and TCP checksums.
expect no-checksum-errors "$(csum_errors)" 0
summary
