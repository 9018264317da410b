# SPDX-License-Identifier: GPL-2.0
# Generic netlink fuzzing of family "netsvc" (tests/vm/nlfuzz.c): randomized
# commands, attributes, nesting and lengths, as root while vifs come and go
# and services are attached and detached under traffic, then as nobody: every
# state-changing request refused with EPERM and nothing changed.  The kernel
# log must stay clean and every module must unload.
set -u
. "$TOP/tests/vm/lib.sh"
# Arguments: messages as root, as nobody (tests/vm/run passes them).  The
# defaults fit the suite (192 s on Debian's kernel); 100000 50000 is the long
# run.  As root each request waits behind the racing attach/detach: 10,000
# took 111 s (5,000 as nobody: 2 s), so 100,000 needs --timeout 1500.  The
# defaults follow VM_SCALE (tests/vm/lib.sh scaled).
N=${1:-$(scaled 10000 500)} NU=${2:-$(scaled 5000 250)}
churn= ping_pid=
trap '[ -n "$churn" ] && kill $churn 2>/dev/null; [ -n "$ping_pid" ] && kill $ping_pid 2>/dev/null; topo_down' EXIT
F=/tmp/nlfuzz
if cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$TOP/include/uapi" -o $F "$TOP/tests/vm/nlfuzz.c" 2>/tmp/cc.err
then pass nlfuzz-build; else fail nlfuzz-build "$(head -n 3 /tmp/cc.err)"; summary; exit 1; fi
load_modules || { fail load "insmod"; summary; exit 1; }
insmod "$TOP/services/ack/netsvc_ack.ko" || fail load-ack "insmod netsvc_ack"
topo_up
# Traffic through vif3.0 the whole time.
ip netns exec guest ping -q -i 0.05 10.9.0.2 > /dev/null 2>&1 & ping_pid=$!

# shown: the attachments without counters and stats (those move with traffic).
shown() { netsvcctl -j show | jq -S 'map(del(.counters, .stats)) | sort_by(.ifname, .service)'; }
detach_all() {
	netsvcctl -j show | jq -r '.[] | "\(.service) \(.ifname)"' | while read -r s d; do
		netsvcctl detach "$s" "$d" 2>/dev/null
	done
}

# Valid requests racing the fuzzer: attach/detach on live vifs, and a vif that
# appears, gets a service and disappears with it.
(
	while :; do
		netsvcctl attach acct vif3.0 2>/dev/null; netsvcctl attach ack vif3.0 2>/dev/null
		ip link add vif5.0 type veth peer name vif5.0p 2>/dev/null && ip link set vif5.0 up
		netsvcctl attach police vif5.0 rate=125000 2>/dev/null
		netsvcctl set acct vif3.0 top=3 2>/dev/null
		netsvcctl detach ack vif3.0 2>/dev/null; netsvcctl detach acct vif3.0 2>/dev/null
		ip link del vif5.0 2>/dev/null
	done
) > /dev/null 2>&1 & churn=$!

t0=$(date +%s)
d0 $F -n "$N" -s 1 vif3.0 up0 lo vif5.0 2>&1 | tee /tmp/fuzz.root; rc=${PIPESTATUS[0]}
if [ $rc -eq 0 ]; then pass "nlfuzz-root ($N messages, $(( $(date +%s) - t0 )) s)"
else fail nlfuzz-root "exit $rc: $(tail -n 2 /tmp/fuzz.root)"; fi
kill $churn; wait $churn 2>/dev/null; churn=
ip link del vif5.0 2>/dev/null

# The fuzzer may have attached anything with any parameters: start clean.
detach_all
expect detached-all "$(netsvcctl -j show | jq length)" 0
g ping -c 2 -q 10.9.0.2 > /dev/null 2>&1 && pass route-after-fuzz || fail route-after-fuzz "guest cannot reach the remote"

# As nobody: refused, and nothing changes.
netsvcctl attach acct vif3.0; netsvcctl attach police up0 rate=125000000
before=$(shown)
t0=$(date +%s)
d0 $F -u -n "$NU" -s 2 vif3.0 up0 lo 2>&1 | tee /tmp/fuzz.nobody; rc=${PIPESTATUS[0]}
if [ $rc -eq 0 ]; then pass "nlfuzz-nobody ($NU messages, all changes refused with EPERM, $(( $(date +%s) - t0 )) s)"
else fail nlfuzz-nobody "exit $rc: $(tail -n 3 /tmp/fuzz.nobody)"; fi
after=$(shown)
if [ "$before" = "$after" ]; then pass nlfuzz-nobody-changed-nothing
else fail nlfuzz-nobody-changed-nothing "show -j differs: $(diff <(echo "$before") <(echo "$after") | head -n 5 | tr '\n' ' ')"; fi
expect nobody-sees-state "$(setpriv --reuid=65534 --regid=65534 --clear-groups netsvcctl -j show | jq length)" 2

kill $ping_pid; ping_pid=
detach_all
for m in netsvc_ack netsvc_police netsvc_acct netsvc; do
	expect_ok "rmmod-$m" rmmod $m
done
expect modules-gone "$(grep -c '^netsvc' /proc/modules)" 0
summary
