# SPDX-License-Identifier: GPL-2.0
# Dom0's side of tests/xen/run: the toolstack in Debian's order (see
# /etc/init.d/xen), netsvc installed into a writable layer over the host's
# files, the bridge and the remote, the guests, then the test script.
#
#  ┌──────────┐ ┌──────────┐
#  │ g1       │ │ g2       │   PV guests (busybox), 10.99.0.11, .12, ...
#  │ eth0     │ │ eth0     │   netfront
#  └────┬─────┘ └────┬─────┘
#  ┌────┴────────────┴─────┐
#  │ vif1.0   vif2.0       │   netback, hotplug script vif-netsvc
#  │ xenbr0 10.99.0.1/24   │   Dom0: bridge, routes to the remote
#  │ up0 10.9.0.1/24       ├──── ns "remote" eth0 10.9.0.2/24 (netem = the WAN)
#  └───────────────────────┘
set -u
script=$1; shift
export PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/xen-4.17/bin:$PATH
say() { echo "[dom0] $*"; }
# step WHAT: how long the set-up step that just ended took, and when.
t_step=$(cut -d' ' -f1 /proc/uptime)
step() {
	local now; now=$(cut -d' ' -f1 /proc/uptime)
	say "$(printf '%-22s %7.1f s (at %s s)' "$1" "$(echo "$now - $t_step" | bc)" "$now")"
	t_step=$now
}
step "boot to Dom0 job"
die() { echo "FAIL xen-setup: $*"; exit 1; }

# Writable layers: netsvc installs into them like onto a real Dom0.  Another
# kernel's module tree is a mount of its own on a tmpfs (tests/vm/init), and an
# overlay on /usr/lib/modules would not see into it: that tree is the layer.
mods=/usr/lib/modules
[ -f /results/moddir ] && mods=/usr/lib/modules/$(uname -r)
for d in /etc /usr/local $mods; do
	mkdir -p /run/ovl$d/up /run/ovl$d/work
	mount -t overlay overlay -o lowerdir=$d,upperdir=/run/ovl$d/up,workdir=/run/ovl$d/work $d ||
		die "cannot overlay $d"
done
# The module index comes from the host (tests/xen/run): depmod here would
# read the whole module tree through 9p.
make -s -C "$TOP" install-files DEPMOD=: KVER="$(uname -r)" > /tmp/install.log 2>&1 || { cat /tmp/install.log; die "make install-files"; }
cp "$TOP/build/xen/modindex/lib/modules/$(uname -r)"/modules.* "/lib/modules/$(uname -r)/" ||
	die "no module index from the host"
cp "$TOP/tests/xen/netsvc.conf" /etc/xen/netsvc.conf
step "make install-files"

mkdir -p /var/lib/xen /var/log/xen/console /run/xen /run/xenstored /run/lock /var/lib/xenstored
rmdir /var/run 2>/dev/null; ln -sfn /run /var/run; ln -sfn /run/lock /var/lock
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback bridge veth sch_netem; do
	modprobe $m || die "modprobe $m"
done
step "modprobe xen, bridge"
mount -t xenfs xenfs /proc/xen || die "mount xenfs"
export XENSTORED_ROOTDIR=/run/xenstored
xenstored --pid-file /run/xenstore.pid || die "xenstored"
for i in $(seq 60); do xenstore-read -s / >/dev/null 2>&1 && break; sleep 1; done
step "xenstored"
xen-init-dom0 >/dev/null || die "xen-init-dom0"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console || die "xenconsoled"
step "xen-init-dom0, consoled"
say "toolstack up at $(cut -d' ' -f1 /proc/uptime) s"

ip link set lo up
ip link add xenbr0 type bridge stp_state 0 forward_delay 0
ip addr add 10.99.0.1/24 dev xenbr0; ip link set xenbr0 up
ip netns add remote
ip link add up0 type veth peer name eth0 netns remote
ip addr add 10.9.0.1/24 dev up0; ip link set up0 up
ip -n remote addr add 10.9.0.2/24 dev eth0; ip -n remote link set eth0 up; ip -n remote link set lo up
ip -n remote route add default via 10.9.0.1
sysctl -qw net.ipv4.ip_forward=1
# Bridged traffic is not for iptables here.
sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null
step "bridge, remote"

. "$TOP/tests/xen/lib.sh"
NGUESTS=$(cat /results/guests 2>/dev/null || echo 2)
for i in $(seq "$NGUESTS"); do
	guest_create "g$i" && continue
	# libxl gives a hotplug script 40 s; an emulator sharing its two CPUs
	# with another can be that slow.  Once more, and say so.
	if grep -q 'because of timeout' "/tmp/g$i.create"; then
		say "g$i: the hotplug script timed out, trying once more"
		xl destroy "g$i" 2>/dev/null
		guest_create "g$i" && continue
	fi
	tail -60 /var/log/xen/xen-hotplug.log; die "xl create g$i"
done
step "xl create (hotplug)"
for i in $(seq "$NGUESTS"); do guest_wait "g$i" || die "g$i did not come up"; done
step "guests answer"
say "$NGUESTS guests up at $(cut -d' ' -f1 /proc/uptime) s"

# The script's own limit, so that running out of time says where.
limit=$(cat /results/script-timeout 2>/dev/null || echo 900)
timeout -k 10 "$limit" bash "$script" "$@"
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	last=$(grep -E '^(=== |PASS |FAIL )' /results/output | tail -n1)
	echo "FAIL $(cat /results/name)-time-limit: did not finish within $limit s${last:+ (last: ${last#=== })}"
fi
for f in /var/log/xen/console/guest-*.log; do [ -f "$f" ] && cp "$f" /results/; done
exit $rc
