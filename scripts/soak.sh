#!/usr/bin/env bash
# soak.sh [SECONDS] — the probe soak test for longer (default 600 s), under
# Bun then Deno: RSS flat (< 5 % growth after a 10 s warm-up), no drops.
set -euo pipefail
cd "$(dirname "$0")/.."
export RINGCAP_SOAK_SECONDS="${1:-600}"
node_modules/.bin/bun test --timeout $(( (RINGCAP_SOAK_SECONDS + 120) * 1000 )) test/reliability.test.ts -t soak
node_modules/.bin/deno test -A test/reliability.test.ts --filter soak
