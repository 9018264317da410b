#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/tests/dkms-modules.sh [TREE]: dkms.conf lists exactly the modules the
# Kbuild files build, each at the place it is built, and the Debian packaging
# takes its DKMS configuration and version from the same places.
#   kbuild_modules TREE   "dir/name" of every obj-m reachable from TREE/Kbuild
#   dkms_modules TREE     "location/name" of every BUILT_MODULE_* in dkms.conf
# A self-test runs the check on copies with a module left out, one too many
# and one in the wrong place: each must fail.
set -u
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# Kbuild's own reading, reduced to what this tree uses: "obj-y += d1/ d2/"
# descends, "obj-m += x.o" (or obj-m := ...) is a module.  Continuation lines
# are joined first.
kbuild_modules() {
	local tree=$1 dir=${2:-} kb words w kind rest
	kb=$tree/${dir:+$dir/}Kbuild
	[ -f "$kb" ] || { echo "missing:${dir:-.}/Kbuild"; return; }
	words=$(sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$kb" | sed 's/#.*//' |
		sed -n -E 's/^[[:space:]]*obj-(y|m)[[:space:]]*[:+]?=[[:space:]]*/\1 /p')
	while read -r kind rest; do
		for w in $rest; do
			case $kind:$w in
			y:*/) kbuild_modules "$tree" "${dir:+$dir/}${w%/}" ;;
			m:*.o) echo "${dir:+$dir/}${w%.o}" ;;
			esac
		done
	done <<< "$words"
}

# dkms reads dkms.conf by sourcing it; so does this.
dkms_modules() {
	(
		set +u	# it names dkms's own variables (kernel_source_dir, ...)
		# shellcheck disable=SC1091
		. "$1/dkms.conf" || exit 1
		for i in "${!BUILT_MODULE_NAME[@]}"; do
			loc=${BUILT_MODULE_LOCATION[$i]:-}
			loc=${loc%/}
			echo "${loc:+$loc/}${BUILT_MODULE_NAME[$i]}"
		done
	)
}

# check_tree TREE: silent and true when dkms.conf matches the Kbuild files;
# else prints what differs.
check_tree() {
	local k d
	k=$(kbuild_modules "$1" | sort) d=$(dkms_modules "$1" | sort)
	[ "$k" = "$d" ] && return 0
	diff <(echo "$k") <(echo "$d") | sed -n 's/^< /built, not in dkms.conf: /p; s/^> /in dkms.conf, not built: /p' |
		tr '\n' ';'
	return 1
}

TREE=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
k=$(kbuild_modules "$TREE" | sort)
if grep -q '^missing:' <<< "$k"; then
	fail kbuild-tree "$(grep '^missing:' <<< "$k" | tr '\n' ' ')"
else
	pass "kbuild-tree ($(wc -l <<< "$k") modules: $(basename -a $k | tr '\n' ' '))"
fi
if out=$(check_tree "$TREE"); then pass dkms-conf-modules; else fail dkms-conf-modules "$out"; fi

# Indices without gaps: dkms stops at none, but a reader expects 0..n-1.
n=$(grep -c '^BUILT_MODULE_NAME\[' "$TREE/dkms.conf")
idx=$(sed -n 's/^BUILT_MODULE_NAME\[\([0-9]*\)\].*/\1/p' "$TREE/dkms.conf" | sort -n | tr '\n' ' ')
[ "$idx" = "$(seq -s ' ' 0 $((n - 1))) " ] && pass dkms-conf-indices || fail dkms-conf-indices "indices are $idx"
grep -q '^AUTOINSTALL="yes"' "$TREE/dkms.conf" && pass dkms-conf-autoinstall ||
	fail dkms-conf-autoinstall "no AUTOINSTALL=\"yes\""

# The package's DKMS configuration is this file (dh_dkms: a debian/*.dkms
# that names another file installs that one), and its version the Makefile's.
if [ -d "$TREE/debian" ]; then
	ref=$(sed 's/#.*//; /^[[:space:]]*$/d' "$TREE/debian/netsvc-dkms.dkms" 2>/dev/null)
	[ "$ref" = dkms.conf ] && pass debian-dkms-is-dkms-conf ||
		fail debian-dkms-is-dkms-conf "debian/netsvc-dkms.dkms names '${ref:-nothing}', not dkms.conf"
	grep -q '^PACKAGE_VERSION="#MODULE_VERSION#"' "$TREE/dkms.conf" && pass dkms-conf-version-placeholder ||
		fail dkms-conf-version-placeholder "PACKAGE_VERSION is not #MODULE_VERSION# (dh_dkms -V and make dkms-install fill it in)"
	mv=$(sed -n 's/^VERSION := *//p' "$TREE/Makefile")
	cv=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$TREE/debian/changelog")
	[ -n "$mv" ] && [ "$mv" = "${cv%-*}" ] && pass debian-version "($mv)" ||
		fail debian-version "Makefile VERSION '$mv', debian/changelog '$cv'"
fi

# The check itself fails on wrong lists.
if [ -z "${1:-}" ]; then
	tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
	mk() {	# mk NAME SED: a copy of the Kbuild files and a dkms.conf edited by SED
		mkdir -p "$tmp/$1"
		(cd "$TREE" && find . -name Kbuild -not -path './build/*' -print0 | cpio -0pdm --quiet "$tmp/$1")
		sed "$2" "$TREE/dkms.conf" > "$tmp/$1/dkms.conf"
	}
	mk left-out '/^BUILT_MODULE_NAME\[6\]/d; /^BUILT_MODULE_LOCATION\[6\]/d'
	mk one-more '$a BUILT_MODULE_NAME[99]="netsvc_gone"\nBUILT_MODULE_LOCATION[99]="services/gone/"'
	mk wrong-place 's|^BUILT_MODULE_LOCATION\[1\]=.*|BUILT_MODULE_LOCATION[1]="services/police/"|'
	for c in left-out one-more wrong-place; do
		if out=$(check_tree "$tmp/$c"); then fail "dkms-check-catches-$c" "a wrong dkms.conf passed"
		else pass "dkms-check-catches-$c ($out)"; fi
	done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
