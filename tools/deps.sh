#!/bin/bash
# Install the Debian packages netsvc needs, when they are missing.  Idempotent
# and quiet when everything is there.
set -eu
PKGS=(
	build-essential pkg-config clang libclang-rt-14-dev
	linux-headers-amd64 linux-image-amd64
	qemu-system-x86 busybox-static cpio kmod
	libnl-3-dev libnl-genl-3-dev
	iproute2 iperf3 jq bc util-linux socat net-tools openvswitch-switch ethtool
	xen-hypervisor-4.17-amd64 xen-utils-4.17 libxen-dev
	# make deb: Debian's packaging tools; bash-completion for the completion test
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian bash-completion
)
# The debug lane's kernel build (make check-debug: tests/debug/kernel) only.
DEBUG_PKGS=(linux-source-6.1 patch flex bison libelf-dev libssl-dev dwarves bc xz-utils)
[ "${1:-}" = --debug ] && PKGS=("${DEBUG_PKGS[@]}")
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
[ "$(id -u)" -eq 0 ] || { echo "deps: need root to install packages" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
