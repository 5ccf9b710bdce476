#!/usr/bin/env bash
# Makes the operator image's base where nothing can be pulled: Debian's python3, python3-venv,
# git and ca-certificates ($PYTHON_BASE_PACKAGES, suite $PYTHON_BASE_SUITE) as a minbase root
# filesystem by mmdebstrap, imported as lunora-build/python-base:<key>. It stands in for the
# public python:3.11-slim the Dockerfile uses by default (python3 on PATH, no compilers).
# The key hashes this script and versions.env, so a change of either makes a new base; the
# root filesystem tarball is cached in $TOOLS_DIR (a cold build takes about a minute) and
# imported again when the engine lost the image. Prints the image reference. Idempotent.
source "$(dirname "$0")/lib.sh"
key="$(cat "$0" "$HACK_DIR/versions.env" | sha256sum | cut -c1-16)"
image="lunora-build/python-base:$key"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
out="$TOOLS_DIR/python-base-$key"
if [[ ! -f "$out/rootfs.tar" ]]; then
  command -v mmdebstrap >/dev/null || apt_install "$TOOLS_DIR/apt-mmdebstrap.log" mmdebstrap
  tmp="$(mktemp -d "$TOOLS_DIR/.python-base-$key.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "building the Python base root filesystem ($PYTHON_BASE_SUITE: $PYTHON_BASE_PACKAGES) into $out"
  # No recommends, no documentation but the copyright files, no locales, no apt lists: what
  # python:3.11-slim leaves out too. Security updates come with the suite's -security mirror.
  mmdebstrap --variant=minbase --include="$PYTHON_BASE_PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/* "$1"/var/log/*' \
    "$PYTHON_BASE_SUITE" "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian $PYTHON_BASE_SUITE main" \
    "deb http://deb.debian.org/debian $PYTHON_BASE_SUITE-updates main" \
    "deb http://deb.debian.org/debian-security $PYTHON_BASE_SUITE-security main" \
    > "$tmp/mmdebstrap.log" 2>&1 || { tail -20 "$tmp/mmdebstrap.log" >&2; exit 1; }
  mkdir -p "$out"
  mv "$tmp/rootfs.tar" "$out/rootfs.tar.part" && mv "$out/rootfs.tar.part" "$out/rootfs.tar"
fi
log "importing $image"
docker import -c 'ENV LANG=C.UTF-8' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["python3"]' "$out/rootfs.tar" "$image" >/dev/null
echo "$image"
