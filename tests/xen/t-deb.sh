# SPDX-License-Identifier: GPL-2.0
# guests: 0
# suite: when named: 37 min (measured): dpkg -i alone took 1893 s, DKMS compiling 7 modules under emulation; 2000 s ran out on a machine at load 10
# limit: 2700
# The Debian packages (make deb) on the emulated Xen host: dpkg -i builds the
# modules with DKMS against Dom0's kernel headers, the hotplug script of the
# package attaches what netsvc.conf says to two new guests, and dpkg -r / -P
# take everything away again (refusing while a service is attached).
#
# Dom0 has netsvc from "make install-files" (tests/xen/dom0.sh); it goes
# first (make uninstall), so that only the packages' files are there.  dpkg
# gets writable layers over what it writes: its database (the host's,
# read-only, below), /usr/sbin, /usr/share, /usr/src and debconf's cache;
# /etc, /usr/lib/modules are overlays already, /var/lib/dkms is on /var's tmpfs.
set -u
. "$TOP/tests/xen/lib.sh"
# The packages' tools, not the tree's (tests/vm/init puts those first).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
t() { cut -d' ' -f1 /proc/uptime; }
took() { echo "$(t) - $1" | bc; }

dkms_deb=$(ls "$TOP"/build/deb/netsvc-dkms_*_all.deb 2>/dev/null | tail -n1)
utils_deb=$(ls "$TOP"/build/deb/netsvc-utils_*_amd64.deb 2>/dev/null | tail -n1)
if [ -z "$dkms_deb" ] || [ -z "$utils_deb" ]; then
	skip deb "no build/deb/netsvc-*.deb: make deb was not run"
	summary; exit
fi
ver=$(dpkg-deb -f "$dkms_deb" Version)
echo "[+] packages: ${dkms_deb#$TOP/} ${utils_deb#$TOP/} (version $ver)"

make -s -C "$TOP" uninstall DEPMOD=: > /tmp/uninstall.log 2>&1 || cat /tmp/uninstall.log
expect uninstalled "$(ls /usr/local/sbin/netsvcctl /etc/xen/scripts/vif-netsvc /lib/modules/$KVER/extra/netsvc*.ko 2>&1 |
	grep -vc 'No such file')" 0

ovl() {	# ovl DIR [LOWER]: a writable layer over DIR
	local d=$1 lower=${2:-$1}
	mkdir -p "$d" "/run/ovl$d/up" "/run/ovl$d/work"
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=/run/ovl$d/up,workdir=/run/ovl$d/work" "$d"
}
ok=1
for d in /usr/sbin /usr/share /usr/src; do ovl $d || ok=0; done
for d in /var/lib/dpkg /var/cache/debconf; do ovl $d "/host$d" || ok=0; done
mkdir -p /var/lib/dkms /var/log /var/lib/man-db
# dkms reads through <(...): /dev/fd, which udev would link on a real host.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
export DEBIAN_FRONTEND=noninteractive
[ $ok = 1 ] && pass deb-layers || fail deb-layers "cannot overlay the directories dpkg writes"
[ -d "/usr/src/linux-headers-$KVER" ] && pass deb-headers ||
	fail deb-headers "no /usr/src/linux-headers-$KVER: DKMS has nothing to build against"

# --- install: netsvc-dkms builds the modules here, under emulation
t0=$(t)
# A bounded install, so that a build that does not end says where it was.
# DKMS compiles the 7 modules under emulation: 1893 s measured, with other
# emulators running (on the host the same build takes a minute or less).
if timeout 2000 dpkg -i "$dkms_deb" "$utils_deb" > /tmp/dpkg-i.log 2>&1; then
	pass "deb-install ($(took "$t0") s, DKMS build included)"
else
	fail deb-install "dpkg -i failed: $(tail -n 20 /tmp/dpkg-i.log | tr '\n' '|')"
	tail -n 30 /var/lib/dkms/netsvc/*/build/make.log 2>/dev/null
	ps -eo pid,etime,args | grep -E 'dkms|make|gcc|cc1|depmod|openssl|ld' | grep -v grep | head -n 20
fi
sed 's/^/    /' /tmp/dpkg-i.log | grep -iE 'dkms|error|warning|Setting up|Building|Installing|depmod' | head -n 30
expect deb-status "$(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' netsvc-dkms netsvc-utils 2>&1)" \
	"ii netsvc-dkms ii netsvc-utils "
expect deb-dkms-status "$(dkms status netsvc 2>&1)" "netsvc/$ver, $KVER, x86_64: installed"
mods="netsvc netsvc_acct netsvc_police netsvc_ack netsvc_tunnel netsvc_front netsvc_null"
got=
for m in $mods; do got+="$(modinfo -F filename "$m" 2>&1 | sed "s|^/lib/modules/$KVER/||") "; done
want=; for m in $mods; do want+="updates/dkms/$m.ko "; done
expect deb-modules "$got" "$want"
expect deb-tool "$(command -v netsvcctl)" /usr/sbin/netsvcctl
expect_ok deb-tool-version netsvcctl -V
expect_ok deb-hotplug test -x /etc/xen/scripts/vif-netsvc
expect_ok deb-completion test -f /usr/share/bash-completion/completions/netsvcctl
expect_ok deb-man test -f /usr/share/man/man8/netsvcctl.8.gz
expect_ok deb-example test -f /usr/share/doc/netsvc-utils/examples/netsvc.conf.example
expect_ok deb-modprobe modprobe netsvc

# --- the package's vif-netsvc attaches netsvc.conf's services (g1: acct
# top=3; domid 2: police)
t0=$(t)
for g in g1 g2; do
	guest_create $g || { tail -n 20 /var/log/xen/xen-hotplug.log; fail "deb-create-$g" "xl create failed"; }
done
echo "[+] two guests created in $(took "$t0") s"
v1=$(guest_vif g1) v2=$(guest_vif g2)
expect deb-hotplug-g1 "$(netsvcctl -j show "$v1" | jq -r '[.[] | "\(.service) top=\(.params.top)"] | join(",")')" "acct top=3"
expect deb-hotplug-g2 "$(netsvcctl -j show "$v2" | jq -r '[.[] | "\(.service) prio \(.priority)"] | join(",")')" "police prio 10"

# --- removal: refused while a service is attached, complete once none is
out=$(dpkg -r netsvc-dkms 2>&1); rc=$?
echo "$out" | sed 's/^/    /' | head -n 8
if [ $rc -ne 0 ] && grep -q 'modules in use' <<< "$out"; then pass deb-remove-refused-attached
else fail deb-remove-refused-attached "dpkg -r exited $rc without the reason"; fi
# dpkg records the wish to remove ("r"); what counts is that it is still installed.
expect deb-remove-refused-state "$(dpkg-query -W -f='${db:Status-Status}' netsvc-dkms)" installed
expect deb-remove-refused-modules "$(ls /usr/src/netsvc-$ver/dkms.conf /sys/module/netsvc_acct 2>&1 | grep -c 'No such')" 0
xl destroy g1; xl destroy g2
for i in $(seq 20); do [ -e "/sys/class/net/$v1" ] || [ -e "/sys/class/net/$v2" ] || break; sleep 0.5; done
t0=$(t)
if dpkg -r netsvc-dkms > /tmp/dpkg-r.log 2>&1; then pass "deb-remove-dkms ($(took "$t0") s)"
else fail deb-remove-dkms "$(tail -n 10 /tmp/dpkg-r.log | tr '\n' '|')"; fi
expect deb-unloaded "$(ls /sys/module | grep -E '^netsvc(_|$)' | tr '\n' ' ')" ""
expect deb-dkms-gone "$(ls -d /usr/src/netsvc-$ver /var/lib/dkms/netsvc 2>/dev/null)" ""
expect deb-ko-gone "$(ls /lib/modules/$KVER/updates/dkms/ 2>/dev/null | grep netsvc)" ""
expect deb-modinfo-gone "$(modinfo -F filename netsvc 2>/dev/null)" ""
if dpkg -P netsvc-utils > /tmp/dpkg-p.log 2>&1; then pass deb-purge-utils
else fail deb-purge-utils "$(tail -n 10 /tmp/dpkg-p.log | tr '\n' '|')"; fi
dpkg -P netsvc-dkms > /tmp/dpkg-p2.log 2>&1 || fail deb-purge-dkms "$(tail -n 5 /tmp/dpkg-p2.log | tr '\n' '|')"
expect deb-files-gone "$(ls /usr/sbin/netsvcctl /etc/xen/scripts/vif-netsvc /usr/share/man/man8/netsvcctl.8.gz \
	/usr/share/bash-completion/completions/netsvcctl /usr/share/doc/netsvc-utils /usr/share/doc/netsvc-dkms 2>/dev/null)" ""
expect deb-status-gone "$(dpkg-query -W -f='${db:Status-Abbrev}' netsvc-dkms netsvc-utils 2>&1 | grep -c '^ii')" 0
summary
