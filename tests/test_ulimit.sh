#!/bin/sh
# test_ulimit.sh FCN_RUN FCN_DETECT MODEL IMAGE TRUTH TMPDIR SANITIZE [BENCH]
# fcn-run and fcn-detect under an address-space limit (ulimit -v), on fcn's
# own GEMM and on OpenBLAS (FCN_ISA=blas): never a hang (OpenBLAS's
# constructor used to retry its 128 MiB buffers forever before main) and
# never a crash; either the right answer (the bundled example's items, from
# TRUTH, at their cells) or exit 1 with one stderr line saying "memory".
# SANITIZE is meson's b_sanitize: ASan reserves terabytes of address space
# for its shadow, so a sanitizer build skips (says so). BENCH (fcn-bench)
# is checked the same way. Ends with "N passed, N failed".
run=$1 det=$2 model=$3 image=$4 truth=$5 tmp=$6/ulimit.$$ san=$7 bench=$8
case $san in
*address* | *thread* | *memory*)
  echo "SKIPPED: sanitizer build (b_sanitize=$san) cannot run under ulimit -v"
  echo "0 passed, 0 failed"
  exit 0 ;;
esac
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

# The items of TRUTH as "label|row|col" lines.
sed -n 's/.*"label": "\([^"]*\)", "class": [0-9]*,.*"cell": \[\([0-9]*\), \([0-9]*\)\].*/\1|\2|\3/p' \
  "$truth" >"$tmp/items"
labels=$(sed -n 's/.*"label": "\([^"]*\)".*/\1/p' "$truth")
[ "$(wc -l <"$tmp/items")" -eq 6 ] && ok || bad "TRUTH: $(cat "$tmp/items")"

# fcn-run's map of best classes has every item's class at its cell (the
# map's symbol for the class read from its legend, "S=LABEL (cells)").
run_right() {
  grep -q "^scores  11 classes x 34 x 50 cells" "$tmp/out" || return 1
  sed -n '/^best class per cell/,/^  legend/p' "$tmp/out" | sed '1d;$d' \
    >"$tmp/map"
  sed -n '/^  legend/,$p' "$tmp/out" >"$tmp/legend"
  while IFS='|' read -r lab row col; do
    sym=$(grep -o "[^ ]=$lab (" "$tmp/legend" | head -1 | cut -c1)
    got=$(sed -n "$((row + 1))p" "$tmp/map" | cut -c$((col + 3)))
    [ -n "$sym" ] && [ "$got" = "$sym" ] || return 1
  done <"$tmp/items"
}
# fcn-detect's JSON has a detection of every item's label.
detect_right() {
  echo "$labels" | while read -r l; do
    grep -q "{\"label\": \"$l\"" "$tmp/out" || exit 1
  done
}

# limited NAME KB MUST CHECK CMD...: CMD under ulimit -v KB and timeout 30.
# MUST: "ok" (it has to succeed), "oom" (it has to refuse), "any".
limited() {
  name=$1 kb=$2 must=$3 check=$4; shift 4
  (ulimit -v "$kb" && exec timeout 30 "$@") >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 124 ]; then bad "$name: hung (killed after 30 s)"; return; fi
  if [ $rc -ge 128 ]; then bad "$name: crashed, rc=$rc: $(cat "$tmp/err")"; return; fi
  if [ $rc -eq 0 ]; then
    if [ "$must" = oom ]; then bad "$name: ran where it had to refuse"
    elif $check; then ok
    else bad "$name: wrong output: $(head -c 300 "$tmp/out")"; fi
    return
  fi
  if [ "$must" != ok ] && [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "memory" "$tmp/err"; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}

# unlimited, both paths are right (else the checks below mean nothing)
limited "run, no limit" unlimited ok run_right "$run" "$model" "$image"
limited "run on OpenBLAS, no limit" unlimited ok run_right \
  env FCN_ISA=blas "$run" "$model" "$image"
for kb in 300000 150000 100000 60000 20000; do
  # fcn's own GEMM needs no OpenBLAS: the example fits in about 20 MB and
  # 8 MiB of stack per thread (2 threads: down to 25 MB; below, the stacks
  # are refused)
  must=any; [ $kb -ge $((30000 + $(nproc) * 9000)) ] && must=ok
  limited "run, ulimit -v $kb" $kb $must run_right "$run" "$model" "$image"
  limited "detect, ulimit -v $kb" $kb $must detect_right \
    "$det" "$model" "$image"
  # OpenBLAS maps 48 MiB, and 128 MiB per thread at load and per calling
  # thread at the first run: it never fits in 150 MB
  must=any; [ $kb -le 150000 ] && must=oom
  limited "run on OpenBLAS, ulimit -v $kb" $kb $must run_right \
    env FCN_ISA=blas "$run" "$model" "$image"
done
limited "run, 1 thread, ulimit -v 20000" 20000 any run_right \
  "$run" "$model" "$image" --threads 1
# one OpenBLAS thread and one calling thread fit in 600 MB
limited "run on OpenBLAS, 1 thread, 600 MB" 600000 ok run_right \
  env OMP_NUM_THREADS=1 FCN_ISA=blas "$run" "$model" "$image" --threads 1
# a team far larger than the limit leaves stacks for: refused, where
# libgomp would exit
limited "run, 200 threads, ulimit -v 300000" 300000 oom run_right \
  "$run" "$model" "$image" --threads 200

# fcn-bench opens OpenBLAS only for its bare-SGEMM column (it linked it,
# and hung before main under 300 MB): it runs, the column measured or not
# ("%sgemm not measured: ... address space"); on OpenBLAS it refuses
bench_right() {
  grep -q "median .* ms" "$tmp/out" || return 1
  ! grep -q "sgemm not measured" "$tmp/out" ||
    grep -q "sgemm not measured: OpenBLAS needs .* address space" "$tmp/out"
}
if [ -n "$bench" ]; then
  limited "bench, ulimit -v 300000" 300000 ok bench_right \
    "$bench" "$model" --size 56x56 --repeat 2 --threads 2
  limited "bench, no limit" unlimited ok bench_right \
    "$bench" "$model" --size 56x56 --repeat 2 --threads 2
  grep -q "sgemm not measured" "$tmp/out" && bad "bench, no limit: $(cat "$tmp/out")"
  limited "bench on OpenBLAS, ulimit -v 150000" 150000 oom bench_right \
    "$bench" "$model" --size 56x56 --repeat 2 --threads 2 --gemm blas
fi

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
