# test/vm/ts_tests.sh — sourced by test/vm/guest.sh inside the VM (ringcap.ko
# loaded): the TypeScript Ring tests over the module backend and the slot
# reader's unit tests under Bun and Deno, a subset of the AF_XDP tests
# (test/xdp.test.ts: exact capture, stamps, filter) under Bun and Deno, then the module-vs-AF_PACKET drain
# benchmark (Bun; TS and C readers, test/vm/bench_drain.ts). Test results go to
# $OUT/ts_results.jsonl (the harness's JSON lines); scripts/vm/run.sh adds
# them to the VM's results. Uses result() and now_ms() from guest.sh.
BUN=$REPO/node_modules/.bin/bun
DENO=$REPO/node_modules/.bin/deno
TSENV=(env RINGCAP_RESULTS="$OUT/ts_results.jsonl" RINGCAP_BACKEND=ring NO_COLOR=1 HOME=/tmp/home
	DENO_DIR=/tmp/home/deno RINGCAP_REQUIRE_ALL="${RINGCAP_REQUIRE_ALL:-0}")
: >"$OUT/ts_results.jsonl"
cd "$REPO" || return
if [ ! -f "$REPO/libring/build/libring.so" ] || [ ! -x "$REPO/libring/build/txframes" ]; then
	result ts_ring_module_tests fail "libring/build is not built (make -C libring on the host)"
else
	for rt in bun deno; do
		t0=$(now_ms)
		if [ $rt = bun ]; then
			"${TSENV[@]}" "$BUN" test --timeout 120000 ./test/vm/ring_module.test.ts ./test/vm/slot_reader.test.ts ./test/vm/cluster_module.test.ts >"$OUT/ts_$rt.log" 2>&1
		else
			"${TSENV[@]}" "$DENO" test -A --no-check test/vm/ring_module.test.ts test/vm/slot_reader.test.ts test/vm/cluster_module.test.ts >"$OUT/ts_$rt.log" 2>&1
		fi
		rc=$?
		echo "== $rt ring_module tests rc=$rc $(( $(now_ms) - t0 )) ms"; tail -30 "$OUT/ts_$rt.log"
		if [ $rc != 0 ] && ! grep -q "\"runtime\":\"$rt\".*\"status\":\"fail\"" "$OUT/ts_results.jsonl"; then
			result "ts_ring_module_tests_$rt" fail "runner exited $rc without recording a failure: $(tail -3 "$OUT/ts_$rt.log")"
		fi
	done
	# AF_XDP (issue 19) on Debian's 6.1 kernel: exact capture in native and generic
	# mode on a veth, per-packet stamps from libring's XDP program (bpf_xdp_load_bytes
	# is 5.18, bpf_loop 5.17) and the filter/sampling run in that program; the rest
	# of test/xdp.test.ts (errors, UMEM sizes, queues) runs on the host only (time).
	XDP_RE='xdp: (N distinct frames captured exactly|per-packet kernel timestamps|filter and sampling)'
	for rt in bun deno; do
		t0=$(now_ms)
		if [ $rt = bun ]; then
			"${TSENV[@]}" "$BUN" test --timeout 120000 ./test/xdp.test.ts -t "$XDP_RE" >"$OUT/ts_xdp_$rt.log" 2>&1
		else
			"${TSENV[@]}" "$DENO" test -A --no-check --filter "/$XDP_RE/" test/xdp.test.ts >"$OUT/ts_xdp_$rt.log" 2>&1
		fi
		rc=$?
		echo "== $rt xdp tests rc=$rc $(( $(now_ms) - t0 )) ms"; tail -12 "$OUT/ts_xdp_$rt.log"
		if [ $rc != 0 ] && ! grep -q "\"runtime\":\"$rt\".*xdp.*\"status\":\"fail\"" "$OUT/ts_results.jsonl"; then
			result "ts_xdp_tests_$rt" fail "runner exited $rc without recording a failure: $(tail -3 "$OUT/ts_xdp_$rt.log")"
		fi
	done
	# the benchmark under Bun only (time); RINGCAP_VM_GUEST_CMD can run it under Deno.
	# Its 1-vs-2-worker scaling section (~1.5 min under TCG) runs in scripts/bench/vm_drain.sh only.
	export RINGCAP_BENCH_SCALING=0
	for rt in bun; do
		t0=$(now_ms)
		if [ $rt = bun ]; then
			line=$("${TSENV[@]}" "$BUN" test/vm/bench_drain.ts "${RINGCAP_BENCH_N:-50000}" "${RINGCAP_BENCH_REPS:-3}" 2>&1 | tail -1)
		else
			line=$("${TSENV[@]}" "$DENO" run -A test/vm/bench_drain.ts "${RINGCAP_BENCH_N:-50000}" "${RINGCAP_BENCH_REPS:-3}" 2>&1 | tail -1)
		fi
		echo "== bench $rt $(( $(now_ms) - t0 )) ms: $line"
		case $line in
		'{'*) result "bench_drain_module_vs_af_packet_$rt" pass "$line" ;;
		*) result "bench_drain_module_vs_af_packet_$rt" fail "$line" ;;
		esac
	done
fi
cd / || true
