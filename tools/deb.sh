#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/deb.sh (make deb): the Debian packages netsvc-dkms and netsvc-utils,
# built by dpkg-buildpackage from a copy of the tree in build/deb/src (the
# tracked files and the untracked ones git does not ignore, as in the working
# tree), so that the package's clean step never touches this tree's build
# output.  The .debs, the source package (.dsc, .tar.xz), .buildinfo,
# .changes and lintian's report (pedantic tags included) end up in
# build/deb/.  Fails on a lintian error; prints its warnings.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
D=$TOP/build/deb
rm -rf "$D"; mkdir -p "$D/src"
git ls-files -z -co --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$D/src"
echo "deb: $(find "$D/src" -type f | wc -l) files in build/deb/src"
cd "$D/src"
t0=$(date +%s)
if ! dpkg-buildpackage -us -uc > "$D/build.log" 2>&1; then
	tail -n 30 "$D/build.log"; echo "deb: dpkg-buildpackage failed (build/deb/build.log)" >&2; exit 1
fi
echo "deb: dpkg-buildpackage: $(( $(date +%s) - t0 )) s"
cd "$D"
changes=$(ls netsvc_*.changes)
lintian --pedantic --info --tag-display-limit 0 "$changes" > lintian.log 2>&1 || true
lintian_tags=$(grep -E '^[EWIPXN]: ' lintian.log || true)
ls -1 ./*.deb | sed 's|^\./|deb: build/deb/|'
echo "deb: lintian: $(grep -c '^E: ' <<< "$lintian_tags") errors, $(grep -c '^W: ' <<< "$lintian_tags") warnings," \
	"$(grep -c '^I: ' <<< "$lintian_tags") info, $(grep -c '^P: ' <<< "$lintian_tags") pedantic (build/deb/lintian.log)"
grep -E '^[EW]: ' <<< "$lintian_tags" | sed 's/^/    /' || true
! grep -q '^E: ' <<< "$lintian_tags"
