#!/bin/sh
# fuzz.sh HARNESS CORPUS REGRESSIONS WORKDIR SECONDS RUNS: one check of a
# libFuzzer harness (README.md). It replays CORPUS and REGRESSIONS (every
# file must run clean), then fuzzes from both: for SECONDS with a random
# seed where SECONDS > 0, else RUNS inputs from seed 1 and an emptied
# WORKDIR/corpus, so that the same binary fuzzes the same inputs on every
# machine (what tests/run does: a failure there is reproducible). New
# inputs go into WORKDIR (never into the committed folders), a crash into
# WORKDIR/crash-*. Passes when both runs of libFuzzer exit 0. Prints
# "N passed, N failed" (one check).
exe=$1 corpus=$2 regress=$3 work=$4 seconds=$5 runs=${6:-0}
dict=$(dirname "$(dirname "$corpus")")/$(basename "$corpus").dict
mkdir -p "$work/corpus" || exit 1
# limits: an input of a few KB that takes 10 s, or allocates 256 MB at once,
# is a bug (the harnesses bound sizes and memory limits well below that)
set -- -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
  -artifact_prefix="$work/" -print_final_stats=1
[ -f "$dict" ] && set -- "$@" -dict="$dict"
[ -d "$regress" ] || regress=
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:print_legend=0
sym=/usr/lib/llvm-14/bin/llvm-symbolizer  # stacks with file:line
[ -n "$ASAN_SYMBOLIZER_PATH" ] || [ ! -x $sym ] || export ASAN_SYMBOLIZER_PATH=$sym
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
log=$work/log.txt
report='ERROR: \|runtime error\|check failed'
fail() {  # the report from its first line (the stack), else the log's end
  if grep -q "$report" "$log"; then sed -n "/$report/,\$p" "$log" | head -n 40
  else tail -n 40 "$log"; fi
  echo "$(basename "$exe"): $1 (input and log in $work)"
  echo "0 passed, 1 failed"
  exit 1
}
# libFuzzer's -runs=0 with folders runs each of their files once
if ! "$exe" "$@" -runs=0 "$corpus" $regress >"$log" 2>&1; then
  bad=  # which ones: each file alone (they are few and small)
  for f in "$corpus"/* ${regress:+"$regress"/*}; do
    "$exe" -timeout=10 -malloc_limit_mb=256 "$f" >/dev/null 2>&1 ||
      bad="$bad ${f#"$(dirname "$(dirname "$f")")"/}"
  done
  fail "corpus or regression files fail:$bad"
fi
grep "stat::number_of_executed_units" "$log" | sed 's/^/replay: /'
if [ "$seconds" -gt 0 ]; then
  set -- "$@" -max_total_time="$seconds"
elif [ "$runs" -gt 0 ]; then
  rm -rf "$work/corpus" && mkdir "$work/corpus" || exit 1
  set -- "$@" -seed=1 -runs="$runs"
fi
if [ "$seconds" -gt 0 ] || [ "$runs" -gt 0 ]; then
  "$exe" "$@" "$work/corpus" "$corpus" $regress \
    >"$log" 2>&1 || fail "fuzzing found a crash"
  grep "stat::number_of_executed_units\|stat::peak_rss_mb\|DONE" "$log" |
    sed 's/^/fuzz: /'
fi
echo "$(basename "$exe"): ok"
echo "1 passed, 0 failed"
