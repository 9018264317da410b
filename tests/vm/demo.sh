# SPDX-License-Identifier: GPL-2.0
# The demo before a Xen host exists: a guest played by a namespace behind
# vif3.0, a remote behind a 20 ms uplink, two services on the guest's vif.
set -u
. "$TOP/tests/vm/lib.sh"
trap topo_down EXIT
say() { printf '\n### %s\n' "$*"; }

say "load netsvc and its services"
load_modules || exit 1
d0 netsvcctl services
topo_up
uplink_netem "delay 10ms"

say "attach the accounting service to the guest's vif, and a 2 MB/s policer in front of it"
d0 netsvcctl attach acct vif3.0 top=4
d0 netsvcctl attach police vif3.0 prio 10 rate=2000000 burst=65536

say "the guest pings the remote and sends it TCP for 5 s"
g ping -c 5 -i 0.2 -q 10.9.0.2
r iperf3 -s -D -1 >/dev/null 2>&1; sleep 0.5
g iperf3 -c 10.9.0.2 -t 5 -f m | grep -E 'sender|receiver'

say "what netsvc saw"
d0 netsvcctl show vif3.0

say "raise the rate live, and the guest's TCP follows"
d0 netsvcctl set police vif3.0 rate=8000000
r iperf3 -s -D -1 >/dev/null 2>&1; sleep 0.5
g iperf3 -c 10.9.0.2 -t 5 -f m | grep -E 'sender|receiver'

say "the guest goes away: its services are detached by the kernel"
netsvcctl monitor & mon=$!; sleep 0.3
d0 ip link del vif3.0
sleep 0.5; kill $mon
d0 netsvcctl show
