#!/bin/bash
# test/vm/guest.sh — runs inside the VM (chrooted into the host's root, see
# scripts/vm/init.sh): loads ringcap.ko, runs every guest test, writes one
# line per test "name<TAB>pass|fail|skip<TAB>detail" to $OUT/results.txt and
# the kernel log to $OUT/dmesg.txt. scripts/vm/run.sh turns them into JSON.
# Environment (from init): REPO, KVER, OUT, IMG (unpacked kernel image root).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BIN=$OUT/bin
T=$BIN/ringcap_test
RES=$OUT/results.txt
: >"$RES"
LOG=$OUT/guest.log
exec >>"$LOG" 2>&1

now_ms() { local s; s=$(cat /proc/uptime); s=${s%% *}; echo $(( ${s%.*} * 1000 + 10#${s#*.} * 10 )); }

# result NAME STATUS DETAIL — one line, no tabs/newlines in DETAIL.
result() {
	local d=${3//$'\t'/ }
	d=${d//$'\n'/ | }
	printf '%s\t%s\t%s\n' "$1" "$2" "$d" >>"$RES"
	printf '%-34s %s  %s\n' "$1" "$2" "$d" >/dev/console
}

# veth pair rc0 (sender) <-> rc1 (capture), both in this namespace, quiet.
veth_up() {
	ip link del rc0 2>/dev/null
	ip link add name rc0 numtxqueues 1 numrxqueues 1 type veth peer name rc1 numtxqueues 1 numrxqueues 1 || return 1
	ip link set dev rc0 up && ip link set dev rc1 up
}
veth_down() { ip link del rc0 2>/dev/null; ip link del rcbr0 2>/dev/null; ip netns del rcgen 2>/dev/null; true; }

# ctest NAME ARGS... — run one C test, record its last output line.
ctest() {
	local name=$1 out rc t0
	shift
	t0=$(now_ms)
	out=$("$@" 2>&1)
	rc=$?
	echo "== $name (rc=$rc, $(( $(now_ms) - t0 )) ms)"; echo "$out"
	local last=${out##*$'\n'}
	case $rc in
	0) result "$name" pass "$last" ;;
	77) result "$name" skip "$last" ;;
	*) result "$name" fail "rc=$rc $last" ;;
	esac
	veth_down
}

T0=$(now_ms)
echo "guest: start at ${T0} ms uptime"
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
	net.core.netdev_max_backlog=100000 kernel.printk="4 4 1 7"
for m in veth bridge 8021q; do
	modprobe -d "$IMG" "$m" || echo "modprobe $m failed"
done
if [ -n "${GUEST_CMD:-}" ]; then # debugging hook (scripts/vm/run.sh RINGCAP_VM_GUEST_CMD)
	insmod "$REPO/kernel/ringcap.ko"
	bash -c "$GUEST_CMD"
	result guest_cmd pass "exit $?"
	dmesg >"$OUT/dmesg.txt"
	exit 0
fi
if ! insmod "$REPO/kernel/ringcap.ko"; then
	result module_load fail "insmod ringcap.ko failed: $(dmesg | tail -3)"
	dmesg >"$OUT/dmesg.txt"
	exit 1
fi
result module_load pass "$(dmesg | grep -o 'ringcap: PF_RING family.*' | tail -1)"

for t in exact ring_full sampling independent bpf snaplen direction reader watermark proc bad_opts gone_bound gone_polling; do
	case $t in
	exact) n=exact_capture_1000_frames ;;
	ring_full) n=ring_full_packets_plus_dropped ;;
	sampling) n=sampling_1_in_10 ;;
	independent) n=two_sockets_independent ;;
	bpf) n=bpf_filter_counts_filtered ;;
	snaplen) n=snaplen_truncation ;;
	direction) n=direction_rx_tx ;;
	reader) n=concurrent_reader_wraps ;;
	watermark) n=poll_watermark_and_timeout ;;
	proc) n=proc_net_ringcap ;;
	bad_opts) n=bad_options_einval ;;
	gone_bound) n=iface_deleted_while_bound ;;
	gone_polling) n=iface_deleted_while_polling ;;
	esac
	veth_up || { result "$n" fail "veth setup failed"; continue; }
	ctest "$n" "$T" "$t" rc0 rc1
done

# Clusters (RINGCAP_OPT_CLUSTER): frames sent on rc0, members on rc1.
for t in cluster_hash2 cluster_hash4 cluster_lb cluster_absent cluster_opts cluster_gone; do
	case $t in
	cluster_hash2) n=cluster_hash_2_members_exact_affinity ;;
	cluster_hash4) n=cluster_hash_4_members_exact_affinity ;;
	cluster_lb) n=cluster_lb_round_robin_within_1 ;;
	cluster_absent) n=cluster_absent_member_counted_as_drops ;;
	cluster_opts) n=cluster_options_errors_and_proc ;;
	cluster_gone) n=cluster_iface_deleted_under_delivery ;;
	esac
	veth_up || { result "$n" fail "veth setup failed"; continue; }
	ctest "$n" "$T" "$t" rc0 rc1
done

# VLAN: frames sent through rc0.100 arrive on rc1 with the tag stripped.
veth_up && ip link add link rc0 name rc0.100 type vlan id 100 && ip link set dev rc0.100 up
ctest vlan_tci_reported "$T" vlan rc0 rc1 rc0.100

# Steal mode: rc0 in namespace rcgen (10.9.0.1) pings rc1 (10.9.0.2).
steal_setup() {
	veth_up && ip netns add rcgen && ip link set dev rc0 netns rcgen &&
		ip -n rcgen addr add 10.9.0.1/24 dev rc0 && ip -n rcgen link set dev rc0 up &&
		ip -n rcgen link set dev lo up && ip addr add 10.9.0.2/24 dev rc1
}
if steal_setup; then ctest steal_mode_ping_fails_capture_sees "$T" steal rc0 rc1
else result steal_mode_ping_fails_capture_sees fail "netns/veth setup failed"; veth_down; fi
veth_up && ctest steal_ebusy_on_bridge_port "$T" steal_ebusy rc0 rc1

# No CAP_NET_RAW: socket() fails with EPERM.
if command -v setpriv >/dev/null; then
	ctest no_cap_net_raw_eperm setpriv --bounding-set=-net_raw --inh-caps=-net_raw -- "$T" eperm
	ctest steal_needs_cap_net_admin setpriv --bounding-set=-net_admin --inh-caps=-net_admin -- "$T" steal_eperm
else
	result no_cap_net_raw_eperm skip "setpriv (util-linux) not installed"
	result steal_needs_cap_net_admin skip "setpriv (util-linux) not installed"
fi

# TypeScript Ring tests over the module (Bun and Deno), when present.
if [ -f "$REPO/test/vm/ts_tests.sh" ]; then
	. "$REPO/test/vm/ts_tests.sh"
fi

# Module refcount: unload refused while a socket (in a cluster) is open.
coproc HOLD { "$T" hold; }
read -r -t 10 line <&"${HOLD[0]}"
clusters=$(grep -c ' lo hash 2 1 ' /proc/net/ringcap_clusters 2>/dev/null)
if [ "$line" = holding ] && [ "$clusters" = 1 ] && ! rmmod ringcap 2>/dev/null && grep -q '^ringcap ' /proc/modules; then
	result rmmod_refused_while_socket_open pass "rmmod refused with an open PF_RING socket in a cluster"
else
	result rmmod_refused_while_socket_open fail "hold='$line', clusters listed: '$clusters', module state: $(grep '^ringcap ' /proc/modules)"
fi
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null

veth_up && ctest concurrent_100_sockets "$T" concurrent rc0 rc1
veth_up && ctest cluster_concurrent_100_sockets "$T" cluster_concurrent rc0 rc1

# Unload, then the kernel log must be clean.
if rmmod ringcap; then
	result rmmod_after_tests pass "module unloaded"
else
	result rmmod_after_tests fail "rmmod failed: $(grep '^ringcap ' /proc/modules)"
fi
dmesg >"$OUT/dmesg.txt"
bad=$(grep -E 'BUG|WARNING|Oops|general protection|KASAN|refcount_t|leak|waiting for .* to become free|detected stall|soft lockup|blocked for more than' "$OUT/dmesg.txt" | head -3)
if [ -z "$bad" ]; then
	result dmesg_clean pass "no BUG/WARNING/Oops in the kernel log"
else
	result dmesg_clean fail "$bad"
fi
echo "guest: tests took $(( $(now_ms) - T0 )) ms"
echo "@@GUEST-TESTS-MS $(( $(now_ms) - T0 ))@@" >/dev/console
