#!/bin/sh
# test_cli.sh FCN_RUN FIXTURES TMPDIR [MODEL IMAGE]
# fcn-run's exit status, one-line errors, and that a failed run leaves no
# output file behind.
run=$1 fx=$2 tmp=$3/cli.$$ model=$4 image=$5
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

# expect_fail NAME NEEDLE CMD...: non-zero exit, exactly one stderr line
# containing NEEDLE, no crash (exit < 128).
expect_fail() {
  name=$1 needle=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/err"; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}

m=$fx/cf_dense2/model.bin
# a good run on a .npy, with --out
if "$run" "$m" "$fx/cf_dense2/in_1.npy" --out "$tmp/s.npy" --top 2 >"$tmp/out" 2>&1 &&
   [ -s "$tmp/s.npy" ] && grep -q "scores  5 classes x 9 x 5" "$tmp/out"; then ok
else bad "good run: $(cat "$tmp/out")"; fi
# its .npy is what NumPy expects: magic, version 1.0, header, 5*9*5 floats
size=$(wc -c <"$tmp/s.npy")
if [ "$(head -c 6 "$tmp/s.npy" | tail -c 5)" = "NUMPY" ] && [ $((size % 64)) -eq $(((5 * 9 * 5 * 4) % 64)) ]; then ok
else bad "npy layout (size $size)"; fi

expect_fail "missing model" "No such file" "$run" /nonexistent.bin "$fx/cf_dense2/in_1.npy"
expect_fail "bad magic" "magic" "$run" "$fx/bad/bad_magic.bin" "$fx/cf_dense2/in_1.npy"
expect_fail "truncated" "truncated" "$run" "$fx/bad/truncated.bin" "$fx/cf_dense2/in_1.npy"
expect_fail "shapes" "fc" "$run" "$fx/bad/dense_mismatch.bin" "$fx/cf_dense2/in_1.npy"
printf 'not an image\n' >"$tmp/text.png"
expect_fail "unreadable image" "not a readable image" "$run" "$m" "$tmp/text.png" --out "$tmp/x.npy"
[ ! -e "$tmp/x.npy" ] && ok || bad "output left behind after a failed run"
expect_fail "missing image" "No such file" "$run" "$m" "$tmp/none.png"
expect_fail "too small" "smaller than the network needs" "$run" "$m" "$fx/cl_dense3/in_0.npy"
expect_fail "channels" "channels" "$run" "$fx/theano/model.bin" "$fx/cf_dense2/in_1.npy"
expect_fail "bad --threads" "threads needs a number from 0" "$run" "$m" "$fx/cf_dense2/in_1.npy" --threads -1
expect_fail "bad --out" ".npy" "$run" "$m" "$fx/cf_dense2/in_1.npy" --out "$tmp/x.txt"
expect_fail "unwritable --out" "x.npy: directory .*nodir. does not exist" "$run" "$m" "$fx/cf_dense2/in_1.npy" --out "$tmp/nodir/x.npy"
if ls "$tmp/nodir" 2>/dev/null | grep -q .; then bad "partial file in nodir"; else ok; fi
ls -A "$tmp" | grep -q '\.tmp$\|\.tmp\.' && bad "temporary file left behind" || ok

# the bundled model on the bundled image
if [ -n "$model" ] && [ -f "$model" ]; then
  if "$run" "$model" "$image" --out "$tmp/b.npy" >"$tmp/out" 2>&1 && [ -s "$tmp/b.npy" ]; then ok
  else bad "bundled model: $(cat "$tmp/out")"; fi
  # 2x-resized input works too
  if "$run" "$model" "$image" --resize 448x320 >"$tmp/out" 2>&1; then ok
  else bad "--resize: $(cat "$tmp/out")"; fi
fi
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
