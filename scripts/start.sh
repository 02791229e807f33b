#!/usr/bin/env bash
# start.sh [pcount args] — set up (packages, runtimes, libring), then run the
# main job: pcount under Bun on the interface of the default route (Ctrl-C
# ends it with the totals). Extra arguments go to pcount, e.g. --duration 10.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
exec node_modules/.bin/bun run examples/pcount.ts "$@"
