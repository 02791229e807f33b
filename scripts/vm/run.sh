#!/bin/bash
# scripts/vm/run.sh — builds ringcap.ko and the guest tests, boots Debian's
# kernel (downloaded and unpacked into build/vm/cache, never installed) under
# qemu TCG with a busybox initramfs, runs test/vm/guest.sh inside, and turns
# the guest's results into an exit code (0 all pass) plus one JSON line per
# test appended to $RINGCAP_RESULTS:
#   {"runtime":"vm","name":...,"status":"pass"|"fail"|"skip","detail":...}
# A missing capability (no qemu, no headers, no network for the image) is a
# skip with the reason; RINGCAP_REQUIRE_ALL=1 turns skips into failures.
# Logs: build/vm/console.log (serial), build/vm/out/{guest.log,dmesg.txt}.
#
# Usage: scripts/vm/run.sh            (env: RINGCAP_VM_MEM=2G, RINGCAP_VM_TIMEOUT=600)
#        RINGCAP_VM_GUEST_CMD='cmd' scripts/vm/run.sh   debugging: load the module, run
#        cmd (bash, in the chrooted guest) instead of the tests; its output is
#        build/vm/out/guest.log
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VM=$REPO/build/vm
OUT=$VM/out
CONSOLE=$VM/console.log
MEM=${RINGCAP_VM_MEM:-2G}
TIMEOUT=${RINGCAP_VM_TIMEOUT:-600}
REQUIRE_ALL=${RINGCAP_REQUIRE_ALL:-0}
T_START=$(date +%s.%N)

say() { echo "vm: $*" >&2; }

json_str() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# emit NAME STATUS DETAIL — print and append one JSON line.
FAILS=0 PASSES=0 SKIPS=0
emit() {
	local name=$1 status=$2 detail=$3
	if [ "$status" = skip ] && [ "$REQUIRE_ALL" = 1 ]; then
		status=fail
		detail="skipped but RINGCAP_REQUIRE_ALL=1: $detail"
	fi
	case $status in pass) PASSES=$((PASSES + 1)) ;; skip) SKIPS=$((SKIPS + 1)) ;; *) FAILS=$((FAILS + 1)) ;; esac
	printf '%-4s vm %-36s %s\n' "$status" "$name" "$detail"
	if [ -n "${RINGCAP_RESULTS:-}" ]; then
		printf '{"runtime":"vm","name":"%s","status":"%s","detail":"%s"}\n' \
			"$(json_str "$name")" "$status" "$(json_str "$detail")" >>"$RINGCAP_RESULTS"
	fi
}

finish() {
	echo "vm: $PASSES passed, $FAILS failed, $SKIPS skipped ($(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $T_START}") s)"
	[ "$FAILS" = 0 ]
	exit $?
}

# skip_all REASON — the VM cannot run here.
skip_all() {
	emit vm_boot skip "$1"
	finish
}

# ---- capabilities -------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && LC_ALL=C ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	skip_all "no static busybox (apt-get install busybox-static)"
for tool in cpio gzip make gcc depmod dpkg-deb node; do
	command -v "$tool" >/dev/null || skip_all "$tool missing (apt-get install cpio build-essential kmod dpkg)"
done

# KVER: the newest installed linux-headers-<ver>-amd64 (Debian moves it).
KVER=$(dpkg-query -W -f='${Status} ${Package}\n' 'linux-headers-*-amd64' 2>/dev/null |
	awk '$3 == "installed" && $4 != "linux-headers-amd64" { sub("linux-headers-", "", $4); print $4 }' |
	sort -V | tail -1)
[ -n "$KVER" ] && [ -d "/lib/modules/$KVER/build" ] ||
	skip_all "no linux-headers-*-amd64 installed (apt-get install linux-headers-amd64)"

# ---- kernel image (cached, never installed) ------------------------------
CACHE=$VM/cache/$KVER
IMG=$CACHE/img
mkdir -p "$CACHE"
if [ ! -f "$IMG/boot/vmlinuz-$KVER" ]; then
	say "fetching linux-image-$KVER (not installed: unpacked into $CACHE)"
	(cd "$CACHE" && rm -f linux-image-*.deb && apt-get download "linux-image-$KVER" >"$CACHE/download.log" 2>&1) ||
		skip_all "apt-get download linux-image-$KVER failed: $(tail -1 "$CACHE/download.log")"
	rm -rf "$IMG.tmp" && dpkg-deb -x "$CACHE"/linux-image-"$KVER"_*.deb "$IMG.tmp" && mv "$IMG.tmp" "$IMG" ||
		skip_all "dpkg-deb -x of linux-image-$KVER failed"
	rm -f "$CACHE"/linux-image-*.deb
fi
[ -f "$IMG/lib/modules/$KVER/modules.dep" ] || depmod -b "$IMG" "$KVER" ||
	skip_all "depmod -b $IMG failed"

# Uncompressed vmlinux for a fast PVH boot (the headers don't ship
# scripts/extract-vmlinux, so find the payload the same way it does).
VMLINUX=$CACHE/vmlinux
if [ ! -s "$VMLINUX" ]; then
	say "extracting vmlinux"
	extract() { # MAGIC_REGEX DECOMPRESSOR...
		local magic=$1 off
		shift
		for off in $(LC_ALL=C grep -aboP "$magic" "$IMG/boot/vmlinuz-$KVER" | cut -d: -f1 | head -5); do
			tail -c +$((off + 1)) "$IMG/boot/vmlinuz-$KVER" | "$@" >"$VMLINUX.tmp" 2>/dev/null
			if [ "$(head -c 4 "$VMLINUX.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$VMLINUX.tmp" "$VMLINUX"
				return 0
			fi
		done
		return 1
	}
	extract '\xfd7zXZ\x00' xz -dc || extract '\x28\xb5\x2f\xfd' zstd -dc || extract '\x1f\x8b\x08' gzip -dc || true
	rm -f "$VMLINUX.tmp"
fi
KERNEL=$VMLINUX
[ -s "$KERNEL" ] || { say "no vmlinux extracted, booting the bzImage (slower)"; KERNEL=$IMG/boot/vmlinuz-$KVER; }

# ---- module and guest programs ------------------------------------------
# One VM run at a time per checkout (they share build/vm/out and kernel/).
exec 9>"$VM/.lock"
if command -v flock >/dev/null && ! flock -w 900 9; then
	emit vm_boot fail "another scripts/vm/run.sh held $VM/.lock for 15 minutes"
	finish
fi
mkdir -p "$OUT"
rm -rf "${OUT:?}"/*
mkdir -p "$OUT/bin"
if ! make -s -C "$REPO/kernel" KVER="$KVER" >"$VM/build.log" 2>&1; then
	cat "$VM/build.log" >&2
	emit module_build fail "make -C kernel KVER=$KVER failed: $(grep -m1 -i error "$VM/build.log")"
	finish
fi
if grep -q 'warning:' "$VM/build.log"; then
	emit module_build fail "compiler warnings: $(grep -m1 'warning:' "$VM/build.log")"
else
	emit module_build pass "ringcap.ko for $KVER, no warnings"
fi
if ! gcc -O2 -Wall -Wextra -Wno-unused-parameter -pthread -o "$OUT/bin/ringcap_test" \
	"$REPO/test/vm/ringcap_test.c" 2>"$VM/cc.log"; then
	emit guest_programs_build fail "$(head -3 "$VM/cc.log")"
	finish
fi
gcc -O2 -Wall -Wextra -o "$OUT/bin/slot_layout" "$REPO/test/vm/slot_layout.c" 2>>"$VM/cc.log" ||
	emit guest_programs_build fail "slot_layout.c: $(tail -2 "$VM/cc.log")"
# libring (with the module backend) for the TypeScript tests in the guest.
if ! make -s -C "$REPO/libring" >"$VM/libring.log" 2>&1; then
	emit libring_build fail "make -C libring: $(grep -m1 -i error "$VM/libring.log")"
fi
# cdrain: the C drain reader beside the TS ones in test/vm/bench_drain.ts.
if [ -f "$REPO/libring/build/libring.so" ] && ! gcc -O2 -Wall -Wextra -o "$OUT/bin/cdrain" "$REPO/scripts/bench/src/cdrain.c" \
	-L"$REPO/libring/build" -lring -Wl,-rpath,"$REPO/libring/build" 2>>"$VM/cc.log"; then
	emit guest_programs_build fail "cdrain.c: $(tail -2 "$VM/cc.log")"
fi

# ---- initramfs -----------------------------------------------------------
RD=$VM/initramfs
rm -rf "$RD"
mkdir -p "$RD"/{bin,dev,proc,sys,etc,modules,tmp}
cp "$BUSYBOX" "$RD/bin/busybox"
cp "$REPO/scripts/vm/init.sh" "$RD/init"
chmod +x "$RD/init"
: >"$RD/modules/order"
for m in netfs fscache 9pnet 9p virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci 9pnet_virtio overlay; do
	ko=$(find "$IMG/lib/modules/$KVER/kernel" -name "$m.ko" | head -1)
	[ -n "$ko" ] || continue # built in
	cp "$ko" "$RD/modules/"
	echo "$m" >>"$RD/modules/order"
done
cat >"$RD/etc/ringcap.env" <<EOF
REPO='$REPO'
KVER='$KVER'
OUT='$OUT'
IMG='$IMG'
RINGCAP_REQUIRE_ALL='$REQUIRE_ALL'
GUEST_CMD='${RINGCAP_VM_GUEST_CMD:-}'
EOF
(cd "$RD" && find . | cpio -o -H newc --quiet | gzip -1) >"$VM/initramfs.cpio.gz"

# ---- boot ----------------------------------------------------------------
say "booting $KVER (TCG, -smp 2, $MEM); console: $CONSOLE"
T_BOOT=$(date +%s.%N)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp 2 \
	-nographic -no-reboot -nodefaults -display none -serial stdio \
	-kernel "$KERNEL" -initrd "$VM/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$OUT,mount_tag=out,security_model=none,multidevs=remap" \
	</dev/null >"$CONSOLE" 2>&1
QRC=$?
T_END=$(date +%s.%N)
VM_S=$(awk "BEGIN{printf \"%.1f\", $T_END - $T_BOOT}")
INIT_AT=$(sed -n 's/.*@@INIT \([0-9.]*\)@@.*/\1/p' "$CONSOLE" | head -1)
GUEST_MS=$(sed -n 's/.*@@GUEST-TESTS-MS \([0-9]*\)@@.*/\1/p' "$CONSOLE" | head -1)

show_logs() {
	echo "---- console (last 60 lines of $CONSOLE) ----" >&2
	tail -n 60 "$CONSOLE" | tr -d '\r' >&2
	if [ -f "$OUT/guest.log" ]; then
		echo "---- guest.log (last 40 lines) ----" >&2
		tail -n 40 "$OUT/guest.log" >&2
	fi
	if [ -f "$OUT/dmesg.txt" ]; then
		echo "---- guest dmesg (last 40 lines) ----" >&2
		tail -n 40 "$OUT/dmesg.txt" >&2
	fi
}

if grep -q '@@RINGCAP-VM-END@@' "$CONSOLE"; then
	emit vm_boot pass "booted to init in ${INIT_AT:-?} s guest uptime; VM ran ${VM_S} s, guest tests ${GUEST_MS:-?} ms"
else
	why="no end marker (oops/panic or hang; qemu rc=$QRC)"
	[ "$QRC" = 124 ] && why="timed out after ${TIMEOUT}s"
	grep -q '@@INIT-FAIL' "$CONSOLE" && why="init failed: $(sed -n 's/.*@@INIT-FAIL \(.*\)@@.*/\1/p' "$CONSOLE" | head -1)"
	emit vm_boot fail "$why; kernel log: $CONSOLE"
fi

if [ -f "$OUT/results.txt" ]; then
	while IFS=$'\t' read -r name status detail; do
		[ -n "$name" ] && emit "$name" "$status" "$detail"
	done <"$OUT/results.txt"
fi
# The TypeScript tests' own JSON lines (harness.ts), re-labelled as VM results.
if [ -s "$OUT/ts_results.jsonl" ]; then
	while IFS=$'\t' read -r name status detail; do
		[ -n "$name" ] && emit "$name" "$status" "$detail"
	done < <(node -e '
for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
  if (!l.trim()) continue;
  try {
    const r = JSON.parse(l);
    const d = String(r.detail || "").replace(/[\t\n\r]+/g, " | ").slice(0, 1500);
    console.log([`ts ${r.name}`, r.status, d].join("\t"));
  } catch { console.log(["ts_results_parse", "fail", l.slice(0, 200)].join("\t")); }
}' "$OUT/ts_results.jsonl")
fi
[ -s "$OUT/results.txt" ] || emit guest_results fail "the guest wrote no results"
cp -f "$OUT/dmesg.txt" "$VM/guest-dmesg.txt" 2>/dev/null
[ "$FAILS" = 0 ] || show_logs
finish
