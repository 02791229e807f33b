#!/usr/bin/env bash
# Runs inside the VM (see vm_latency.sh): a veth pair, then latency.ts on each
# backend and wait mode while txframes sends lone frames at 37 pps.
set -u
REPO=$1 COUNT=$2 WAITS=$(tr , ' ' <<<"${3:-poll,busy}") BACKENDS=$(tr , ' ' <<<"${4:-ring,packet}")
cd "$REPO"
ip netns add lt
ip link add name lth type veth peer name ltp netns lt
sysctl -qw net.ipv6.conf.lth.disable_ipv6=1
ip netns exec lt sysctl -qw net.ipv6.conf.ltp.disable_ipv6=1
ip link set dev lth up
ip -n lt link set dev ltp up
for be in $BACKENDS; do
  for wait in $WAITS; do
    RINGCAP_BACKEND=$be node_modules/.bin/bun run scripts/bench/latency.ts -i lth -c "$COUNT" --wait $wait >/tmp/lat.json 2>/tmp/lat.err &
    pid=$!
    sleep 4
    ip netns exec lt libring/build/txframes ltp $((COUNT + 5)) --pps 37 --min 60 --max 60 >/dev/null
    wait $pid
    node -e '
      const r = JSON.parse(require("fs").readFileSync("/tmp/lat.json", "utf8").trim().split("\n").pop());
      const v = r.lat_us.slice().sort((a, b) => a - b);
      const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
      console.log(`LAT ${process.argv[1]} ${process.argv[2]} median ${q(0.5).toFixed(0)} us p90 ${q(0.9).toFixed(0)} us (n=${v.length})`);
    ' "$be" "$wait" || { echo "LAT $be $wait failed: $(cat /tmp/lat.err)"; }
  done
done
