# SPDX-License-Identifier: GPL-2.0
# t-migrate: a guest with a tunnel checkpointed, saved and restored, and
# live-migrated, each in the middle of a TCP transfer (issue 6).
#
#  ┌─────────────┐   tunnel   ┌─────────────┐      ┌──────────────────────┐
#  │ g1 (domid 1)│◄══════════►│ g2 (domid 2)│      │ g1 restored/migrated │
#  └──────┬──────┘            └──────┬──────┘  ──► │ new domid, new vif   │
#  ┌──────┴──────────────────────────┴───────┐     │ (vif-netsvc attaches │
#  │ Dom0: vif1.0 ── xenbr0 ── vif2.0  broker │     │  tunnel again)       │
#  └─────────────────────────────────────────┘     └──────────────────────┘
# Xen suspends a guest for all three.  The mapper's foreign mappings and both
# ends' event channels do not survive that, so the guest end closes its
# tunnels before it suspends and asks the broker for a new offer; the channel
# comes back with the guest's new domid and the transfer completes.
. "$TOP/tests/xen/lib.sh"

MB=${MIGRATE_MB:-24}
d1=$(guest_domid g1) d2=$(guest_domid g2)
v1=$(guest_vif g1) v2=$(guest_vif g2)
ip1=$(guest_ip g1) ip2=$(guest_ip g2)
bstat() { stat "$1" tunnel "$2"; }
# now: seconds since the script began.
T0=$(date +%s)
now() { echo $(( $(date +%s) - T0 )); }
# renamed: g1's new domid and vif after it moved.
renamed() {
	d1=$(guest_domid g1) v1=$(guest_vif g1)
	echo "    g1 is now domain $d1 ($v1)"
}
# moved NAME CMD...: run CMD (which moves g1) in the middle of a paced
# transfer g1 -> g2; the channel comes back with g1's new domid and the
# transfer completes sha256-equal, its end through the new channel.
moved() {
	local name=$1 t rx0; shift
	xfer_start g1 g2 "$PORT" "$MB"; PORT=$((PORT + 1))
	XFER_PACE=0.25 xfer_send 900 & snd=$!
	sleep 4
	t=$(date +%s)
	expect_ok "$name" "$@"
	echo "    $name took $(( $(date +%s) - t )) s"
	renamed
	if wait_state g1 up 90 "$d2" && wait_state g2 up 10 "$d1"; then pass "$name-channel-up"
	else fail "$name-channel-up" "g1 $(peer_state g1 "$d2"), g2 $(peer_state g2 "$d1")"; fi
	echo "    channel up again $(( $(date +%s) - t )) s after $name began"
	rx0=$(gx g2 cat /proc/netsvc_front | awk -v p="$d1" '$1 == "peer" && $2 == p { print $14 }')
	wait $snd
	xfer_ok "$name-transfer-sha"
	gx g2 cat /proc/netsvc_front
	rx1=$(gx g2 cat /proc/netsvc_front | awk -v p="$d1" '$1 == "peer" && $2 == p { print $14 }')
	echo "    frames from g1 through the new channel: ${rx0:-none} -> ${rx1:-none}"
	expect_ge "$name-transfer-via-tunnel" "$(( ${rx1:-0} - ${rx0:-0} ))" 100
	t=$(fstat g2 rx_frames)
	expect_ok "$name-ping" x g1 "ping -c 3 -i 0.2 $ip2"
	expect_ge "$name-ping-through-tunnel" "$(( $(fstat g2 rx_frames) - t ))" 3
}

# Restore and migration create g1's vif anew through vif-netsvc, which
# attaches what netsvc.conf names for g1 (an incoming migration's domain is
# called g1--incoming at that moment).
printf 'g1 tunnel\ng2 tunnel\n' >> /etc/xen/netsvc.conf
for g in g1 g2; do expect_ok load-front-$g gx $g "insmod /lib/netsvc/netsvc_front.ko"; done
expect_ok attach-g1 netsvcctl attach tunnel "$v1"
expect_ok attach-g2 netsvcctl attach tunnel "$v2"
if wait_state g1 up 60 && wait_state g2 up 10; then pass channel-up
else fail channel-up "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
PORT=9101

# A checkpoint: Xen suspends g1, saves it, and lets it go on (same domid).
moved checkpoint xl save -c g1 /tmp/g1.ckpt
rm -f /tmp/g1.ckpt

# Saved (g1 is gone, its pages in a file) and restored as a new domain: once
# as the granter (domid 1 < 2), then as the mapper (its new domid is higher),
# whose mappings of g2's pages must be gone before Xen saves its page tables.
moved save-restore sh -c 'xl save g1 /tmp/g1.save && xl restore /tmp/g1.save'
expect save-restore-vif-attached "$(netsvcctl show "$v1" | grep -c ': tunnel ')" 1
moved save-restore-mapper sh -c 'xl save g1 /tmp/g1.save && xl restore /tmp/g1.save'
rm -f /tmp/g1.save

# Live migration to this host (with an empty ssh command xl runs the "host"
# as the receiving command) needs log-dirty mode, which for a PV guest is
# shadow paging, which Debian's Xen leaves out (a guest without netsvc fails
# the same way: "Failed to enable logdirty").
if grep -qs '^# CONFIG_SHADOW_PAGING is not set' /boot/xen-4.17-amd64.config; then
	skip migrate "Debian's Xen 4.17 is built without CONFIG_SHADOW_PAGING: no live migration of PV guests"
else
	moved migrate xl migrate -s '' g1 'xl migrate-receive'
	expect migrate-vif-attached "$(netsvcctl show "$v1" | grep -c ': tunnel ')" 1
fi
# What the toolstack does to an incoming domain: it creates it as NAME--incoming
# and renames it afterwards.  vif-netsvc gives it NAME's services.
cat > /tmp/in.cfg <<EOC
name = "g1--incoming"
type = "pv"
kernel = "$DOMU_KERNEL"
ramdisk = "$DOMU_RD"
memory = $DOMU_MEM
vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:09,script=vif-netsvc' ]
EOC
expect_ok incoming-create xl create -p /tmp/in.cfg
vin=vif$(guest_domid g1--incoming).0
netsvcctl show "$vin"
expect incoming-services "$(netsvcctl show "$vin" | grep -c -E ': (acct|tunnel) ')" 2
xl destroy g1--incoming

# No domain is left behind, e.g. held by pages a peer still maps.
sleep 2
xl list
expect domains-left "$(xl list | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')" "Domain-0 g1 g2 "
expect broker-pairs "$(bstat "$v1" pairs_offered)/$(bstat "$v1" channels_up)" 1/1
# Every page granted to an earlier channel has been let go.
expect grants-released "$(fstat g1 grants_held)/$(fstat g2 grants_held)" 0/0
clean_dmesg guest-g1-dmesg g1
clean_dmesg guest-g2-dmesg g2
gx g1 dmesg | grep netsvc_front | tail -12
summary
