#!/usr/bin/env bash
# vm_drain.sh [FRAMES] [REPS] [RUNTIMES] [noscaling] — the module backend vs
# AF_PACKET in one VM boot (scripts/vm/run.sh: Debian's kernel under TCG,
# ringcap.ko loaded): test/vm/bench_drain.ts sends FRAMES minimum-size frames
# at full speed, then times each reader draining what its ring holds (no
# generator running): the TypeScript readers on both backends and the C
# reader scripts/bench/src/cdrain.c on both (every ring 64 MiB); medians of
# REPS repetitions after a warm-up one, under each of RUNTIMES
# (comma-separated: bun,deno), with ratios module/AF_PACKET and TS/C. Its
# "scaling" object: the same FRAMES (4096 UDP flows) drained by 1 Worker vs
# 2 Workers, as a module cluster (hash) and as an AF_PACKET fanout group
# (hash), in the same boot ("noscaling" skips it). Prints one
# "DRAIN <runtime> {json}" line per runtime; `npm run bench -- --only vm`
# runs this and tabulates them (scripts/bench/vm.ts). TCG slows everything:
# compare the rows, not the absolute numbers. Wrap in
# `flock /tmp/ringcap-bench.lock` (the VM takes both CPUs).
set -euo pipefail
if [ "${1:-}" = --guest ]; then # inside the VM (chrooted host root): REPO N REPS RUNTIMES SCALING
  cd "$2"
  export HOME=/tmp/home DENO_DIR=/tmp/home/deno NO_COLOR=1 RINGCAP_BENCH_SCALING=$6
  for rt in ${5//,/ }; do
    case $rt in
    bun) run=(node_modules/.bin/bun) ;;
    deno) run=(node_modules/.bin/deno run -A) ;;
    *) echo "DRAIN $rt unknown runtime" && continue ;;
    esac
    "${run[@]}" test/vm/bench_drain.ts "$3" "$4" >"$OUT/bench_drain_$rt.log" 2>&1 || true # OUT: from the guest's init
    echo "DRAIN $rt $(tail -1 "$OUT/bench_drain_$rt.log")"
  done
  exit 0
fi
cd "$(dirname "$0")/../.."
N=${1:-100000} REPS=${2:-5} RUNTIMES=${3:-bun,deno} SCALING=1
[ "${4:-}" = noscaling ] && SCALING=0
RINGCAP_VM_GUEST_CMD="bash $PWD/scripts/bench/vm_drain.sh --guest $PWD $N $REPS $RUNTIMES $SCALING" \
  bash scripts/vm/run.sh >build/vm/vm_drain.log 2>&1 || true
grep '^DRAIN ' build/vm/out/guest.log ||
  { echo "no results: $(grep -m1 -E '^(fail|skip)' build/vm/vm_drain.log || echo "see build/vm/out/guest.log")" >&2; exit 1; }
