#!/bin/sh
# test_inputs_cli.sh FCN_RUN FCN_DETECT TMPDIR MODEL IMAGE
# --max-pixels in fcn-run and fcn-detect: the image pixel cap lowered and
# raised; a JPEG bomb and a huge --resize refused at once, with a message
# that names the limit.
run=$1 det=$2 tmp=$3/inputs-cli.$$ model=$4 image=$5
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

# expect_fail NAME NEEDLE CMD...: exit 1, one stderr line containing NEEDLE,
# within 5 seconds (the old decoder took minutes).
expect_fail() {
  name=$1 needle=$2; shift 2
  t0=$(date +%s%N)
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/err" && [ $ms -lt 5000 ]; then ok
  else bad "$name: rc=$rc in $ms ms, stderr: $(cat "$tmp/err")"; fi
}
expect_ok() {
  name=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then ok
  else bad "$name: $(cat "$tmp/err")"; fi
}

# the image's size from its PNG header (IHDR width and height, big-endian)
w=$(od -An -tu1 -j16 -N4 "$image" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
h=$(od -An -tu1 -j20 -N4 "$image" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
px=$((w * h))

expect_ok "default cap" "$run" "$model" "$image"
expect_fail "--max-pixels 100" "${w}x${h} ($px pixels) exceeds the limit of 100 pixels" \
  "$run" "$model" "$image" --max-pixels 100
expect_fail "--max-pixels w*h-1" "limit of $((px - 1)) pixels" \
  "$run" "$model" "$image" --max-pixels $((px - 1))
expect_ok "--max-pixels w*h" "$run" "$model" "$image" --max-pixels $px
expect_fail "--resize over --max-pixels" "resize to $((w + 1))x$h" \
  "$run" "$model" "$image" --max-pixels $px --resize $((w + 1))x$h
expect_ok "--resize at --max-pixels" "$run" "$model" "$image" --max-pixels $((px * 2)) --resize $((w * 2))x$h
expect_fail "--resize 40000x40000" "resize to 40000x40000 (1600000000 pixels) exceeds the limit of 100000000" \
  "$run" "$model" "$image" --resize 40000x40000
for v in 0 abc 4294967297; do
  expect_fail "--max-pixels $v" "max-pixels needs a number" "$run" "$model" "$image" --max-pixels $v
done

# a 160-byte JPEG whose frame header claims 20000x20000 (one component,
# one-symbol Huffman tables, a scan of zeros: decodable)
{
  printf '\377\330\377\333\000\103\000'
  i=0; while [ $i -lt 64 ]; do printf '\001'; i=$((i + 1)); done
  printf '\377\300\000\013\010\116\040\116\040\001\001\021\000'
  printf '\377\304\000\024\000\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
  printf '\377\304\000\024\020\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
  printf '\377\332\000\010\001\001\000\000\077\000'
  printf '\000\000\000\000\000\000\000\000\377\331'
} >"$tmp/bomb.jpg"
expect_fail "JPEG bomb" "20000x20000 (400000000 pixels) exceeds the limit of 100000000 pixels" \
  "$run" "$model" "$tmp/bomb.jpg"
expect_fail "JPEG bomb, fcn-detect" "exceeds the limit" "$det" "$model" "$tmp/bomb.jpg" --quiet

# fcn-detect: the image and the pyramid's levels
expect_fail "fcn-detect --max-pixels 100" "exceeds the limit of 100 pixels" \
  "$det" "$model" "$image" --max-pixels 100 --quiet
expect_ok "fcn-detect --max-pixels w*h" "$det" "$model" "$image" --max-pixels $px --quiet
expect_fail "fcn-detect level over the cap" "scale 2: resize to $((w * 2))x$((h * 2))" \
  "$det" "$model" "$image" --max-pixels $px --scales 2 --quiet
expect_fail "fcn-detect --max-pixels x" "max-pixels needs a number" "$det" "$model" "$image" --max-pixels x

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
