#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# netsvcctl's command line, as far as it goes without the kernel: usage
# errors exit 2 with a message, help exits 0.
P=$(dirname "$0")/../netsvcctl
passed=0 failed=0
t() {	# t NAME WANT_RC WANT_STDERR_SUBSTRING ARGS...
	local n=$1 rc=$2 want=$3 out got; shift 3
	out=$("$P" "$@" 2>&1 >/dev/null); got=$?
	if [ "$got" = "$rc" ] && [[ $out == *"$want"* ]]; then echo "PASS cli-$n"; passed=$((passed + 1))
	else echo "FAIL cli-$n: exit $got, stderr '$out'"; failed=$((failed + 1)); fi
}
t no-args 2 "Usage: netsvcctl"
t unknown-cmd 2 "unknown command 'frob'" frob
t attach-usage 2 "Usage: netsvcctl attach SERVICE IFACE" attach acct
t detach-usage 2 "Usage: netsvcctl detach SERVICE IFACE" detach acct
t set-usage 2 "Usage: netsvcctl set SERVICE IFACE key=value" set acct vif3.0
t domain-no-xen 1 "--domain needs a Xen Dom0" attach acct --domain g1
t help 0 "" --help
t help-cmd 0 "" help attach
t help-unknown 2 "unknown command 'frob'" help frob
if "$P" --help | grep -q '^  attach  *SERVICE IFACE'; then echo "PASS cli-help-lists"; passed=$((passed + 1))
else echo "FAIL cli-help-lists: --help does not list attach"; failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
