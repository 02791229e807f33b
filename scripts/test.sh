#!/usr/bin/env bash
# test.sh — set up everything and run every test; README's test command,
# called by .ci/run. Ends with the line "N passed, N failed, N skipped".
#
#   static checks : deno fmt --check, deno lint, deno check, tsc (Bun's types)
#   bun test      : test/*.test.ts under Bun
#   deno test     : the same files under Deno
#   VM            : scripts/vm/run.sh boots the Debian kernel under qemu with
#                   the ringcap module and runs the kernel tests in it
# Every test appends a JSON line {runtime,name,status,detail} to
# $RINGCAP_RESULTS; the summary counts those. RINGCAP_REQUIRE_ALL=1 (CI)
# turns every skip into a failure. Extra arguments select test files.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh test || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p build
export RINGCAP_RESULTS="$ROOT/build/results.jsonl"
: > "$RINGCAP_RESULTS"
BUN=node_modules/.bin/bun
DENO=node_modules/.bin/deno
export NO_COLOR=1

record() { # name status [detail]
  node -e 'const [n,s,d]=process.argv.slice(1);require("fs").appendFileSync(process.env.RINGCAP_RESULTS,JSON.stringify({runtime:"check",name:n,status:s,detail:d||""})+"\n")' "$1" "$2" "${3:-}"
}
check() { # name cmd...
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then record "$name" pass; echo "ok   $name"
  else record "$name" fail "$(tail -c 2000 <<<"$out")"; echo "FAIL $name"; echo "$out" | tail -40; fi
}
# a runner that dies before recording its tests must still count as a failure
runner() { # name cmd...
  local name=$1; shift
  local before after
  before=$(grep -c '"status":"fail"' "$RINGCAP_RESULTS" || true)
  "$@"; local rc=$?
  after=$(grep -c '"status":"fail"' "$RINGCAP_RESULTS" || true)
  if [[ $rc != 0 && $before == "$after" ]]; then record "$name" fail "runner exited $rc without recording a failure"; fi
}

files=("$@")
if ((${#files[@]} == 0)); then mapfile -t files < <(ls test/*.test.ts); fi

echo "== static checks"
check "deno fmt --check" "$DENO" fmt --check
check "deno lint" "$DENO" lint
check "deno check" "$DENO" check mod.ts lib examples test scripts
check "deno check --doc (JSDoc examples)" "$DENO" check --doc mod.ts lib examples
check "tsc (bun types)" node_modules/.bin/tsc -p tsconfig.json

echo "== bun test"
runner "bun test" "$BUN" test --timeout 120000 "${files[@]/#/./}"
echo "== deno test"
runner "deno test" "$DENO" test -A --no-check "${files[@]}"

if (($# == 0)); then
  echo "== kernel module in the VM"
  if [[ -x scripts/vm/run.sh ]]; then
    runner "vm" bash scripts/vm/run.sh
  else
    record "vm: kernel module tests" fail "scripts/vm/run.sh is missing"
  fi
fi

node -e '
const lines = require("fs").readFileSync(process.env.RINGCAP_RESULTS, "utf8").trim().split("\n").filter(Boolean);
const c = { pass: 0, fail: 0, skip: 0 };
for (const l of lines) { const r = JSON.parse(l); c[r.status]++; if (r.status !== "pass") console.log(`${r.status.toUpperCase()} ${r.name}${r.detail ? ": " + r.detail.split("\n")[0] : ""}`); }
console.log(`${c.pass} passed, ${c.fail} failed, ${c.skip} skipped`);
process.exit(c.fail ? 1 : 0);'
