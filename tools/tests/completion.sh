#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/tests/completion.sh: netsvcctl's bash completion against a fake
# netsvcctl (the text of "services" and "guests" as the tool prints them), a
# fake /sys/class/net and a fake modules.alias.  Each case completes a
# command line and compares COMPREPLY.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BC=/usr/share/bash-completion/bash_completion
if [ ! -r "$BC" ]; then
	echo "SKIP completion: no $BC (Debian package bash-completion)"
	echo "0 passed, 0 failed"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/net/vif3.0" "$tmp/net/vif4.0" "$tmp/net/eth0" "$tmp/mod"
cat > "$tmp/bin/netsvcctl" <<'EOT'
#!/bin/sh
case $1 in
services) cat <<'EOS'
acct (1 attached)
    top            u32    default 0        [0..64]               top flows to keep
police (0 attached)
    rate           u64    default 0        [0..100000000000] live bytes per second
    burst          u32    default 65536    [1..1073741824]  live bucket size
ack (0 attached)
    cc             enum   default none     none|reno        live congestion control
    port           u32    default 0        [0..65535]            only this port
EOS
;;
guests) printf '0     Domain-0\n3     web1\n    vif3.0 xenbr0\n4     db\n' ;;
*) exit 2 ;;
esac
EOT
chmod +x "$tmp/bin/netsvcctl"
printf 'alias netsvc-service-null netsvc_null\nalias netsvc-service-tunnel netsvc_tunnel\nalias fs-9p 9p\n' \
	> "$tmp/mod/modules.alias"

# comp LINE: what completing at the end of LINE offers, sorted, one line.
comp() {
	PATH=$tmp/bin:$PATH NETSVCCTL_COMP_NET=$tmp/net NETSVCCTL_COMP_MODDIR=$tmp/mod \
	bash --norc --noprofile -c '
		. "$1"; . "$2"
		line=$3
		read -ra COMP_WORDS <<< "$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
		_netsvcctl netsvcctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " " | sed "s/ $//"' \
		_ "$BC" "$TOP/tools/netsvcctl/netsvcctl.bash-completion" "$1" 2>>"$tmp/stderr"
}
passed=0 failed=0
case_() {	# case_ NAME LINE EXPECTED
	local got; got=$(comp "$2")
	if [ "$got" = "$3" ]; then echo "PASS completion-$1"; passed=$((passed + 1))
	else echo "FAIL completion-$1: '$2' offers '$got', expected '$3'"; failed=$((failed + 1)); fi
}
case_ commands          'netsvcctl '                   'attach detach guests help monitor services set show'
case_ commands-prefix   'netsvcctl s'                  'services set show'
case_ after-json        'netsvcctl -j sh'              'show'
case_ options           'netsvcctl --'                 '--help --json --version'
case_ help-command      'netsvcctl help at'            'attach'
case_ attach-services   'netsvcctl attach '            'acct ack null police tunnel'
case_ detach-loaded     'netsvcctl detach '            'acct ack police'
case_ attach-vifs       'netsvcctl attach acct '       '--domain vif3.0 vif4.0'
case_ set-vifs          'netsvcctl set police '        'vif3.0 vif4.0'
case_ show-vifs         'netsvcctl show '              'vif3.0 vif4.0'
case_ attach-params     'netsvcctl attach acct vif3.0 ' 'prio top='
case_ attach-params-2   'netsvcctl attach ack vif3.0 top=1 ' 'cc= port= prio'
case_ set-live-only     'netsvcctl set ack vif3.0 '    'cc='
case_ enum-values       'netsvcctl attach ack vif3.0 cc=' 'cc=none cc=reno'
case_ domain-names      'netsvcctl attach acct --domain ' 'db web1'
case_ after-prio        'netsvcctl attach acct vif3.0 prio ' ''
case_ unknown-service   'netsvcctl attach nosuch vif3.0 ' 'prio'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
