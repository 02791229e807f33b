#!/usr/bin/env bash
# vm_drain.sh [FRAMES] [REPS] [RUNTIMES] — the module backend vs AF_PACKET in one
# VM boot (scripts/vm/run.sh: Debian's kernel under TCG, ringcap.ko loaded):
# test/vm/bench_drain.ts sends FRAMES minimum-size frames at full speed, then
# times a TypeScript loop draining what each ring holds (no generator
# running); medians of REPS repetitions after a warm-up one, under each of
# RUNTIMES (comma-separated: bun,deno). Its "scaling" object: the same
# FRAMES (4096 UDP flows) drained by 1 Worker vs 2 Workers, as a module
# cluster (hash) and as an AF_PACKET fanout group (hash), in the same boot
# (RINGCAP_BENCH_SCALING=0 skips it). Prints one "DRAIN <runtime> {json}"
# line per runtime. TCG slows everything: compare the backends, not the
# absolute numbers.
set -euo pipefail
if [ "${1:-}" = --guest ]; then # inside the VM (chrooted host root): REPO N REPS RUNTIMES
  cd "$2"
  export HOME=/tmp/home DENO_DIR=/tmp/home/deno NO_COLOR=1
  for rt in ${5//,/ }; do
    case $rt in
    bun) run=(node_modules/.bin/bun) ;;
    deno) run=(node_modules/.bin/deno run -A) ;;
    *) echo "DRAIN $rt unknown runtime" && continue ;;
    esac
    echo "DRAIN $rt $("${run[@]}" test/vm/bench_drain.ts "$3" "$4" 2>&1 | tail -1)"
  done
  exit 0
fi
cd "$(dirname "$0")/../.."
N=${1:-100000} REPS=${2:-5} RUNTIMES=${3:-bun,deno}
RINGCAP_VM_GUEST_CMD="bash $PWD/scripts/bench/vm_drain.sh --guest $PWD $N $REPS $RUNTIMES" bash scripts/vm/run.sh >/dev/null 2>&1 || true
grep '^DRAIN ' build/vm/out/guest.log || { echo "no results; see build/vm/out/guest.log" >&2; exit 1; }
