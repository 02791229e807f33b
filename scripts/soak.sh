#!/usr/bin/env bash
# soak.sh [SECONDS] — the probe soak test for longer (default 600 s), under
# Bun then Deno (both run even if the first fails): RSS flat (< 5 % growth
# after a 10 s warm-up), no drops. Exit 0 only if both pass.
set -uo pipefail
cd "$(dirname "$0")/.."
export RINGCAP_SOAK_SECONDS="${1:-600}"
node_modules/.bin/bun test --timeout $(( (RINGCAP_SOAK_SECONDS + 120) * 1000 )) test/reliability.test.ts -t soak
bun_rc=$?
node_modules/.bin/deno test -A test/reliability.test.ts --filter soak
deno_rc=$?
echo "soak ${RINGCAP_SOAK_SECONDS} s: bun exit $bun_rc, deno exit $deno_rc"
(( bun_rc == 0 && deno_rc == 0 ))
