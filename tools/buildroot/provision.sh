#!/usr/bin/env bash
# Makes the Debian sid build root that ./tools/bazel enters.
#
#   provision.sh TARGET_DIR
#
# TARGET_DIR must not exist. Packages come from packages.txt beside this script;
# the mirror from $BUILDROOT_MIRROR (default http://deb.debian.org/debian).
# The host's locally added CA certificates (/usr/local/share/ca-certificates)
# are trusted inside the root, so pip and Bazel's downloader work behind a
# TLS-intercepting proxy. This script's own text is part of the cache key:
# editing it rebuilds the root.
set -euo pipefail

target="${1:?usage: provision.sh TARGET_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
mirror="${BUILDROOT_MIRROR:-http://deb.debian.org/debian}"

packages="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$' | paste -sd, -)"

if [ "$(id -u)" = 0 ]; then mode=root; else mode=unshare; fi

# The sid snapshot on the mirror is frozen and its Release file has expired.
# Recommends are not installed: the root holds what packages.txt names and
# what those packages depend on, nothing more.
# Debian's /etc/bazel/bazelrc sets two options the project does not want: the
# deprecated --host_javabase (Bazel warns about it on every command; nothing
# here builds Java) and --sandbox_debug (very noisy).
# /etc/resolv.conf and /etc/hosts are left as empty files: the launcher binds
# the host's over them, and bubblewrap cannot create mount points in a
# read-only root.
mmdebstrap \
  --mode="$mode" \
  --variant=apt \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --aptopt='Acquire::Retries "3"' \
  --include="$packages" \
  --setup-hook='mkdir -p "$1/usr/local/share/ca-certificates"' \
  --setup-hook='if [ -d /usr/local/share/ca-certificates ]; then cp -r /usr/local/share/ca-certificates/. "$1/usr/local/share/ca-certificates/"; fi' \
  --customize-hook='chroot "$1" update-ca-certificates --fresh >/dev/null' \
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hosts"; : >"$1/etc/resolv.conf"; : >"$1/etc/hosts"' \
  --customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*_Packages' \
  --customize-hook='sed -i -e "/--host_javabase/d" -e "/--sandbox_debug/d" "$1/etc/bazel/bazelrc"' \
  sid "$target" "deb $mirror sid main"
