#!/usr/bin/env bash
# profile_hot.sh — where a packet's nanoseconds go in the probe or topn: perf
# samples (cpu-clock: no hardware PMU needed) of one way of the synthetic loop
# (scripts/bench/synthetic_loop.ts: the real ring reader over an in-memory
# ring, no kernel) under Deno with V8's perf map (--perf-basic-prof), then the
# functions by share of samples. Multiply a share by the loop's ns/packet
# (printed first) for the nanoseconds of that function.
#   bash scripts/bench/profile_hot.sh [probe|topn|decode|lean] [FLOWS] [OUT.data]
# Needs perf (Debian linux-perf; scripts/setup.sh bench). Run it alone
# (flock /tmp/ringcap-bench.lock ... on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
what="${1:-probe}" flows="${2:-256}" out="${3:-build/profile-${1:-probe}-${2:-256}.data}"
case "$what" in
  decode) way=2 ;; lean) way=3 ;; probe) way=4 ;; topn) way=5 ;;
  *) echo "profile_hot: '$what': one of probe, topn, decode, lean" >&2; exit 2 ;;
esac
if ! command -v perf >/dev/null; then
  echo "profile_hot: perf is not installed (apt-get install linux-perf, or bash scripts/setup.sh bench)" >&2
  exit 2
fi
mkdir -p "$(dirname "$out")"
root="$PWD" out="$(realpath "$out")"
# V8 writes an isolate-*.log into the working directory with --perf-basic-prof: run in a scratch one
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && perf record -q -e cpu-clock -F 2000 -o "$out" -- \
  "$root/node_modules/.bin/deno" run -A --v8-flags=--perf-basic-prof "$root/scripts/bench/synthetic_loop.ts" 30 "$flows" "$way" |
  tail -n 1)
# the read loop's own frame is the synthetic loop's top level; fill() rewrites the ring between repetitions
perf report -i "$out" --no-children --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 12
