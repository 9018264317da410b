# SPDX-License-Identifier: GPL-2.0
# netsvc on a real (emulated) Xen host: install, hotplug attachments from
# netsvc.conf, domain names, transfers through netback with acct and with
# ack attached, xl destroy and reboot.
set -u
. "$TOP/tests/xen/lib.sh"
v1=$(guest_vif g1) v2=$(guest_vif g2)

# --- installed like on a real Dom0
expect_ok install-netsvcctl test -x /usr/local/sbin/netsvcctl
expect_ok install-man test -f /usr/local/share/man/man8/netsvcctl.8
expect_ok install-hotplug test -x /etc/xen/scripts/vif-netsvc
expect install-modinfo "$(modinfo -F filename netsvc 2>&1)" "/lib/modules/$KVER/extra/netsvc.ko"

# --- the hotplug script attached what netsvc.conf says (it loaded netsvc)
expect hotplug-g1 "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | join(",")')" acct
expect hotplug-g1-params "$(stat "$v1" acct top)" 3
expect hotplug-g2 "$(netsvcctl -j show "$v2" | jq -r '[.[].service] | join(",")')" police
expect show-domain-json "$(netsvcctl -j show "$v1" | jq -r '.[0].domain')" g1
if netsvcctl show "$v1" | grep -q "^$v1 (domain g1): acct (prio 100)$"; then pass show-domain-text
else fail show-domain-text "$(netsvcctl show "$v1" | head -1)"; fi
expect guests "$(netsvcctl -j guests | jq -r '[.[] | "\(.name):\(.vifs[0].ifname):\(.vifs[0].bridge):\(.vifs[0].connected)"] | join(" ")')" \
	"g1:$v1:xenbr0:true g2:$v2:xenbr0:true"
expect_ok attach-domain netsvcctl attach acct --domain g2 top=2
expect attach-domain-result "$(netsvcctl -j show "$v2" | jq -r '[.[].service] | join(",")')" police,acct
expect_err attach-domain-unknown 1 "netsvcctl: attach: nosuch: no such domain, or it has no vif" \
	netsvcctl attach acct --domain nosuch

# --- guest to remote through netback, Dom0 routing, a service on the vif
if gsend g1 20; then pass transfer-20mb-sha256; else fail transfer-20mb-sha256 "sha256 differs"; fi
expect_ge transfer-counted "$(stat "$v1" acct rx_ipv4_tcp_bytes)" 20000000
# --- ack on the real netback vif: local ACKs reach the guest through
# netback, Dom0 recovers the WAN's losses, the data arrives intact
expect_ok attach-ack netsvcctl attach ack "$v1"
uplink_netem "delay 10ms loss 1%"
if gsend g1 20 9001; then pass ack-transfer-20mb-sha256
else fail ack-transfer-20mb-sha256 "sha256 differs"; fi
uplink_netem "delay 0ms"
expect_ge ack-local-acks "$(stat "$v1" ack local_acks)" 100
expect_ge ack-dom0-rexmits "$(stat_sum "$v1" ack rexmit_fast rexmit_rto)" 1
for i in $(seq 50); do [ "$(stat "$v1" ack flows)" = 0 ] && break; sleep 0.2; done
expect ack-settled "$(stat "$v1" ack flows)/$(stat "$v1" ack kept_bytes)" 0/0
netsvcctl show "$v1" | sed -n '/ack (prio/,$p'
expect_ok detach-ack netsvcctl detach ack "$v1"
g2g=$(gx g2 "ping -c 3 -q $(guest_ip g1) >/dev/null && echo ok")
expect guest-to-guest "$g2g" ok

# --- xl destroy: the kernel detaches, monitor sees it
netsvcctl monitor > /tmp/events 2>&1 & mon=$!
sleep 0.5
xl destroy g2
for i in $(seq 20); do [ -e /sys/class/net/$v2 ] || break; sleep 0.5; done
sleep 0.5; kill $mon
expect destroy-events "$(grep -c "^dev-gone .* $v2$" /tmp/events)" 2
expect destroy-detached "$(netsvcctl -j show "$v2" 2>/dev/null | jq length)" 0

# --- reboot: a new domid, a new vif, attached again by the hotplug script
old=$(guest_domid g1)
xl reboot g1
for i in $(seq 120); do
	d=$(guest_domid g1); [ -n "$d" ] && [ "$d" != "$old" ] && [ -e /sys/class/net/vif$d.0 ] && break
	sleep 1
done
guest_wait g1
v1=$(guest_vif g1)
if [ "$v1" != "vif$old.0" ]; then pass reboot-new-vif; else fail reboot-new-vif "still $v1"; fi
expect reboot-reattached "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | join(",")')" acct
expect reboot-old-gone "$(netsvcctl -j show "vif$old.0" 2>/dev/null | jq length)" 0

# --- the hotplug script by hand, as libxl calls it: offline detaches,
# online attaches again and is idempotent
hp() { XENBUS_PATH=backend/vif/$(guest_domid g1)/0 vif=$v1 /etc/xen/scripts/vif-netsvc "$1" type_if=vif; }
netsvcctl monitor > /tmp/events 2>&1 & mon=$!
sleep 0.5
hp offline
sleep 0.5; kill $mon
expect offline-detached "$(tr '\n' ';' < /tmp/events)" "detached acct $v1;"
hp online; hp online
expect online-idempotent "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | join(",")')" acct
expect online-bridged "$(basename "$(readlink /sys/class/net/$v1/master)")" xenbr0
# a Dom0-only XenStore key adds services for a domain, checked like the file
xenstore-write /local/domain/0/netsvc/g1 "police rate=1000000 ; acct top=3"
hp online
expect xenstore-key "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | sort | join(",")')" acct,police
expect xenstore-key-params "$(stat "$v1" police rate)" 1000000
xenstore-rm /local/domain/0/netsvc/g1
# underlay route: vif-route's set-up (Dom0's address on the vif, a host
# route to the guest, proxy ARP) instead of the bridge, same services
hp offline
{ echo "underlay route"; cat /etc/xen/netsvc.conf; } > /tmp/route.conf
NETSVC_CONF=/tmp/route.conf netdev=up0 ip=$(guest_ip g1) hp online
expect route-unbridged "$(readlink /sys/class/net/$v1/master || echo none)" none
expect route-host-route "$(ip -o route show "$(guest_ip g1)" | awk '{print $3}')" "$v1"
expect route-attached "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | join(",")')" acct
expect_ok route-guest-to-remote gx g1 "ping -c 2 -q 10.9.0.2"
NETSVC_CONF=/tmp/route.conf netdev=up0 ip=$(guest_ip g1) hp offline
# underlay openvswitch: vif-openvswitch puts the vif on an OVS bridge (named
# in the vif's backend "bridge" node), same services.  A throwaway OVS in /tmp.
if command -v ovs-vswitchd > /dev/null && modprobe openvswitch; then
	mkdir -p /tmp/ovs /var/run/openvswitch
	ovsdb-tool create /tmp/ovs/conf.db /usr/share/openvswitch/vswitch.ovsschema
	ovsdb-server /tmp/ovs/conf.db --remote=punix:/var/run/openvswitch/db.sock \
		--pidfile --log-file=/tmp/ovs/db.log -vconsole:off --detach
	ovs-vsctl --no-wait init
	ovs-vswitchd --pidfile --log-file=/tmp/ovs/vswitchd.log -vconsole:off --detach
	ovs-vsctl add-br ovsbr0
	be=/local/domain/0/backend/vif/$(guest_domid g1)/0
	xenstore-write $be/bridge ovsbr0
	{ echo "underlay openvswitch"; cat /etc/xen/netsvc.conf; } > /tmp/ovs.conf
	NETSVC_CONF=/tmp/ovs.conf hp online
	expect ovs-port "$(ovs-vsctl port-to-br "$v1" 2>&1)" ovsbr0
	expect ovs-attached "$(netsvcctl -j show "$v1" | jq -r '[.[].service] | join(",")')" acct
	NETSVC_CONF=/tmp/ovs.conf hp offline
	expect ovs-offline "$(ovs-vsctl list-ports ovsbr0 | tr '\n' ' ')/$(netsvcctl -j show "$v1" | jq length)" "/0"
	xenstore-write $be/bridge xenbr0
	ovs-appctl -t ovs-vswitchd exit; ovs-appctl -t ovsdb-server exit
else
	echo "SKIP ovs: no openvswitch-switch or no openvswitch module"
fi
# xl network-detach: netback removes the vif, the kernel detaches the rest
xl network-detach g1 0
for i in $(seq 20); do [ -e /sys/class/net/$v1 ] || break; sleep 0.5; done
expect network-detach "$(netsvcctl -j show | jq "[.[] | select(.ifname == \"$v1\")] | length")" 0

# --- a configuration the kernel refuses fails the hotplug, with its reason
echo "g3 acct top=99" >> /etc/xen/netsvc.conf
out=$(guest_create g3 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "value for 'top' is out of range \[0, 32\]" <<< "$out"
then pass hotplug-refused; else fail hotplug-refused "xl create rc $rc: $(tail -3 <<< "$out")"; fi
expect hotplug-refused-no-domain "$(xl list | grep -c '^g3 ')" 0
expect hotplug-refused-nothing-left "$(netsvcctl -j show | jq '[.[] | select(.domain == "g3")] | length')" 0
sed -i '$d' /etc/xen/netsvc.conf
echo "g3 acct prio x" >> /etc/xen/netsvc.conf
out=$(guest_create g3 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "netsvc.conf:4: prio needs a number" <<< "$out"
then pass hotplug-bad-line; else fail hotplug-bad-line "xl create rc $rc: $(tail -3 <<< "$out")"; fi

summary
