#!/usr/bin/env bash
# export_pacing.sh [FLOWS=200000] [VERSION=9] [DELAYS="0 0.02 0.05 0.1"] — how many flows a
# collector keeps when the probe reads a file, per export pacing (-e, ms between datagrams).
# Writes a pcap of FLOWS one-packet UDP flows, then for each runtime and delay runs nfcapd on
# loopback, examples/nprobe.ts -r FILE -e DELAY into it, and counts what nfdump lists:
#   bun   -e 0     stored 134523 of 200000 (67.3 %)  1.4 s
# Needs nfdump (nfcapd) from Debian: bash scripts/setup.sh bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
flows=${1:-200000} version=${2:-9} delays=${3:-"0 0.02 0.05 0.1"}
command -v nfcapd >/dev/null || { echo "export_pacing.sh: nfcapd not found: apt-get install nfdump" >&2; exit 2; }
dir=$(mktemp -d)
nf=
cleanup() {
  [[ -n $nf ]] && kill "$nf" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
node_modules/.bin/bun -e "
  import { writeManyFlowsPcap } from './test/fixtures/many_flows.ts';
  writeManyFlowsPcap('$dir/flows.pcap', $flows);"
echo "export pacing: $flows one-packet flows, NetFlow v$version, nfcapd on 127.0.0.1 ($(date -u +%F))"
for rt in bun deno; do
  for d in $delays; do
    rm -rf "$dir/nf" && mkdir "$dir/nf"
    port=$((30000 + RANDOM % 20000))
    nfcapd -w "$dir/nf" -p "$port" -b 127.0.0.1 >/dev/null 2>&1 &
    nf=$!
    for _ in $(seq 50); do compgen -G "$dir/nf/nfcapd.current*" >/dev/null && break; sleep 0.1; done
    probe=(examples/nprobe.ts -r "$dir/flows.pcap" -n "127.0.0.1:$port" -V "$version" -e "$d" --json)
    t0=$(date +%s.%N)
    if [[ $rt == bun ]]; then node_modules/.bin/bun run "${probe[@]}" >/dev/null 2>&1
    else node_modules/.bin/deno run -A "${probe[@]}" >/dev/null 2>&1; fi
    t1=$(date +%s.%N)
    sleep 0.5
    kill -INT "$nf" && wait "$nf" || true
    nf=
    got=$(nfdump -R "$dir/nf" -q -o 'fmt:%pkt' 2>/dev/null | wc -l)
    awk -v rt="$rt" -v d="$d" -v g="$got" -v n="$flows" -v t0="$t0" -v t1="$t1" \
      'BEGIN { printf "  %-5s -e %-5s stored %7d of %d (%5.1f %%)  %.1f s\n", rt, d, g, n, 100 * g / n, t1 - t0 }'
  done
done
