#!/usr/bin/env bash
# vm_latency.sh [COUNT] [WAITS] [BACKENDS] — lone-packet latency (kernel receive → TypeScript
# callback, scripts/bench/latency.ts under Bun) of the ringcap module backend
# vs AF_PACKET, in the same VM boot (scripts/vm/run.sh), poll and busy waits.
# The module wakes poll() at the first packet (watermark 1); AF_PACKET hands a
# block over only when it retires (10 ms timeout by default). TCG slows
# everything: compare the two backends, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-20} WAITS=${2:-poll,busy} BACKENDS=${3:-ring,packet} # comma-separated lists
RINGCAP_VM_GUEST_CMD="bash $PWD/scripts/bench/vm_latency_guest.sh $PWD $COUNT $WAITS $BACKENDS" bash scripts/vm/run.sh >/dev/null 2>&1 || true
grep '^LAT ' build/vm/out/guest.log || { echo "no results; see build/vm/out/guest.log" >&2; exit 1; }
