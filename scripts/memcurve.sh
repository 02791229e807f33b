#!/usr/bin/env bash
# memcurve.sh [bun|deno] [nprobe|pcount] [SECONDS] [PPS] — where a tool's memory goes
# over time. Runs the tool on a veth pair in a namespace it creates (and
# removes) at PPS frames a second (default 20000) of the soak test's mixed
# traffic for SECONDS (default 240), the probe exporting IPFIX to a local UDP
# sink; scripts/memcurve_preload.ts forces a full GC and prints a memory line
# every 20 s (MEMCURVE_MS, MEMCURVE_GC=0 to not force). Used to tell a leak
# (a trend across forced GCs) from a collector that is merely lazy.
set -euo pipefail
cd "$(dirname "$0")/.."
rt=${1:-bun} tool=${2:-nprobe} secs=${3:-240} pps=${4:-20000}
case $rt in bun | deno) ;; *) echo "memcurve.sh: runtime must be bun or deno, not '$rt'" >&2; exit 2 ;; esac
case $tool in nprobe | pcount) ;; *) echo "memcurve.sh: tool must be nprobe or pcount, not '$tool'" >&2; exit 2 ;; esac
make -s -C libring >/dev/null
tag=$$ ns=rcmem$$ host=rcmh$$ peer=rcmp$$ dir=$(mktemp -d)
cleanup() {
  kill "${probe:-}" "${sink:-}" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
node_modules/.bin/bun -e "
  import { mixedFrames } from './test/fixtures/mixed.ts';
  import { PcapWriter } from './lib/sink/pcap/mod.ts';
  const w = PcapWriter.open('$dir/mix.pcap');
  for (const f of mixedFrames(800)) w.writeBytes(f);
  w.close();"
ip netns add "$ns"
ip link add name "$host" type veth peer name "$peer" netns "$ns"
sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1"
ip link set "$host" up
ip -n "$ns" link set "$peer" up
port=$((20000 + tag % 20000))
node -e "require('dgram').createSocket('udp4').on('message',()=>{}).bind($port,'127.0.0.1')" &
sink=$!
args=(-i "$host" --json)
[[ $tool == nprobe ]] && args+=(-n "127.0.0.1:$port" -V 10 -d 2 -t 5)
if [[ $rt == bun ]]; then
  node_modules/.bin/bun --preload ./scripts/memcurve_preload.ts "examples/$tool.ts" "${args[@]}" 2>"$dir/err" >"$dir/out" &
else
  node_modules/.bin/deno run -A --v8-flags=--expose-gc --preload ./scripts/memcurve_preload.ts \
    "examples/$tool.ts" "${args[@]}" 2>"$dir/err" >"$dir/out" &
fi
probe=$!
sleep 3
ip netns exec "$ns" libring/build/txframes "$peer" --pcap "$dir/mix.pcap" --pps "$pps" --loop $((pps * secs / 800))
sleep 1
kill -INT "$probe"
wait "$probe" || { echo "memcurve.sh: $tool exited $?" >&2; tail -3 "$dir/err" >&2; exit 1; }
probe=
grep '^memcurve' "$dir/err" || true
echo "$rt $tool: $(tail -1 "$dir/out")"
