#!/bin/busybox sh
# scripts/vm/init.sh — /init of the test VM's busybox initramfs (built by
# scripts/vm/run.sh). Mounts the host's root read-only over 9p at /host,
# overlays writable tmpfs on /tmp /run /var/tmp, mounts the writable results
# share at $OUT, chroots into the host root to run test/vm/guest.sh, prints
# the end marker and powers off. /etc/ringcap.env gives REPO KVER OUT IMG.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /etc/ringcap.env
echo "@@INIT $(cut -d' ' -f1 /proc/uptime)@@"

fail() { echo "@@INIT-FAIL $*@@"; poweroff -f; }

for m in $(cat /modules/order); do
	insmod "/modules/$m.ko" || fail "insmod $m"
done
mkdir -p /host /ov
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host || fail "9p hostroot"
mount -t tmpfs -o size=512m tmpfs /ov
for d in tmp run var/tmp; do
	mkdir -p "/ov/$d/u" "/ov/$d/w"
	mount -t overlay overlay -o "lowerdir=/host/$d,upperdir=/ov/$d/u,workdir=/ov/$d/w" "/host/$d" || fail "overlay $d"
done
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "/host$OUT" || fail "9p out"
mkdir -p /host/tmp/home

chroot /host /usr/bin/env -i HOME=/tmp/home TERM=dumb REPO="$REPO" KVER="$KVER" OUT="$OUT" IMG="$IMG" \
	RINGCAP_REQUIRE_ALL="$RINGCAP_REQUIRE_ALL" GUEST_CMD="$GUEST_CMD" /bin/bash "$REPO/test/vm/guest.sh"
echo "guest.sh exit $?"
sync
echo "@@RINGCAP-VM-END@@"
poweroff -f
