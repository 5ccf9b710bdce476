#!/usr/bin/env bash
# Imports a busybox base image (lunora-test/busybox:<busybox version>) from Debian's static
# busybox, since no image can be pulled here. Prints the image reference. Idempotent.
source "$(dirname "$0")/lib.sh"
if [[ ! -x /bin/busybox ]] || ! dpkg -s busybox-static >/dev/null 2>&1; then
  apt_install "$TESTENV_DIR/apt-busybox.log" busybox-static
fi
version="$(dpkg-query -W -f '${Version}' busybox-static | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-]/-/g')"
image="lunora-test/busybox:$version"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
rootfs="$(mktemp -d)"; trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,www,var/www/cgi-bin}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
log "importing $image"
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "$image"
