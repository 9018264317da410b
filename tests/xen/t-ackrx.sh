# SPDX-License-Identifier: GPL-2.0
# t-ackrx: the ack service's rx direction on the emulated Xen host, where a
# guest's vCPU really stops: downloads from a remote behind a lossy, delayed
# uplink into g1 through netback, with Dom0 acknowledging the remote's data
# in g1's name, arrive intact (sha256 in the guest) across `xl pause g1`;
# dir=both; detach mid-download; nothing kept afterwards; clean kernel logs.
#
#  ┌──────────────┐
#  │ g1 eth0      │ 10.99.0.11   (xl pause / unpause)
#  └──────┬───────┘ netfront
#  ┌──────┴───────────────────────────────────────────────────────┐
#  │ Dom0: vif1.0 [ack dir=rx] ── xenbr0 ── routing ── up0         │
#  └──────────────────────────────────────────────────────┬───────┘
#                          netem: loss, reorder, duplicate, delay
#                                                 ns "remote" eth0 10.9.0.2
set -u
. "$TOP/tests/xen/lib.sh"
v1=$(guest_vif g1)
P=netsvcctl
BIG=$(scaled 50 10) MID=$(scaled 20 5)
WAN="delay 5ms 1ms loss 1% duplicate 2% reorder 5% 50%"

# settled: no flow, nothing kept either way
settled() {
	local i s
	for i in $(seq 100); do
		s=$($P -j show "$v1")
		[ "$(jstat "$s" ack flows)" = 0 ] && [ "$(jstat "$s" ack kept_bytes)" = 0 ] &&
			[ "$(jstat "$s" ack rx_kept_bytes)" = 0 ] && return 0
		sleep 0.2
	done
	echo "    flows $(jstat "$s" ack flows) kept $(jstat "$s" ack kept_bytes) rx_kept $(jstat "$s" ack rx_kept_bytes)"
	return 1
}
rexmits() { stat_sum "$v1" ack rx_rexmit_fast rx_rexmit_rto; }
# ACKs the remote got while Dom0 kept g1's data: Dom0's own, or g1's passed
# on within rx_grace
answered() { stat_sum "$v1" ack rx_local_acks rx_acks_prompt; }
show_rx() { $P show "$v1" | grep -o 'rx_[a-z_]* [0-9]*' | tr '\n' ' '; echo; }

expect_ok load-ack modprobe netsvc_ack
expect_ok attach-dir-rx $P attach ack "$v1" dir=rx
expect param-dir-rx "$(stat "$v1" ack dir)" rx
uplink_netem "$WAN"

# --- a download that the guest stops taking for a while: Dom0 goes on
# acknowledging the remote's data (up to its budgets) while g1's vCPU does
# not run, then hands g1 what it kept; what was lost on the way to the
# paused guest, Dom0 resends
grecv_start g1 "$BIG" 9000
for i in $(seq 100); do [ "$(answered)" -ge 100 ] 2> /dev/null && break; sleep 0.2; done
xl pause g1
a0=$(stat "$v1" ack rx_local_acks)
echo "    g1 paused at $(date +%T), rx_local_acks $a0"
sleep 4
a1=$(stat "$v1" ack rx_local_acks) k1=$(stat "$v1" ack rx_kept_bytes)
state=$(xl list g1 | awk 'NR == 2 { print $5 }')
xl unpause g1
echo "    g1 unpaused after 4 s (state while paused: $state): rx_local_acks $a1, rx_kept_bytes $k1"
expect paused-really "${state//-/}" p
grecv_ok "dl-${BIG}mb-pause-intact $WAN" 600
show_rx
expect_ge rx-local-acks "$(stat "$v1" ack rx_local_acks)" 1
expect_ge rx-acked-while-paused "$((a1 - a0))" 1
expect_ge rx-kept-while-paused "$k1" 1
r=$(rexmits) seg=$(( (BIG << 20) / 1448 ))
# sane: Dom0 resent to g1 what the pause held up (its guest-path timer runs
# out while g1 does not answer: 46 by the timer, none fast on 2026-12-05),
# but not the download over again
if [ "$r" -ge 1 ] && [ "$r" -lt $((seg / 4)) ]; then pass rx-rexmits-sane
else fail rx-rexmits-sane "rx_rexmit_fast + rx_rexmit_rto = $r, want 1 .. $((seg / 4)) of $seg segments"; fi
expect rx-no-reset "$(stat "$v1" ack resets)" 0
if settled; then pass rx-kept-zero-after; else fail rx-kept-zero-after "state left"; fi

# --- dir=both: the same flow machinery both ways at once
expect_ok set-dir-both $P set ack "$v1" dir=both
t0=$(stat "$v1" ack local_acks) ra0=$(answered)
grecv_start g1 "$MID" 9001
if gsend g1 5 9100; then pass "up-5mb-alongside-dir-both"; else fail "up-5mb-alongside-dir-both" "sha256 differs"; fi
grecv_ok "dl-${MID}mb-dir-both $WAN" 600
expect_ge dir-both-tx-local-acks "$(( $(stat "$v1" ack local_acks) - t0 ))" 1
expect_ge dir-both-rx-answered "$(( $(answered) - ra0 ))" 1
if settled; then pass settled-after-dir-both; else fail settled-after-dir-both "state left"; fi

# --- detach in the middle of a download: what Dom0 acknowledged reaches the
# guest (the detach drains), the rest runs end to end
expect_ok set-dir-rx $P set ack "$v1" dir=rx
a0=$(answered)
grecv_start g1 "$MID" 9002
for i in $(seq 100); do [ "$(( $(answered) - a0 ))" -ge 100 ] 2> /dev/null && break; sleep 0.2; done
expect_ok detach-midway $P detach ack "$v1"
grecv_ok "dl-${MID}mb-detach-midway" 600
expect detached "$($P -j show "$v1" | jq -r '[.[].service] | join(",")')" acct

uplink_netem "delay 0ms"
clean_dmesg dmesg-g1-clean g1
expect dmesg-dom0-quiet "$(dmesg | grep -c 'netsvc_ack: .*\(payload copy\|vif removed\|draining\)')" 0
summary
