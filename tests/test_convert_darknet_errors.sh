#!/bin/sh
# test_convert_darknet_errors.sh FCN_CONVERT TMPDIR
# fcn-convert on Darknet inputs it must refuse: exactly one line on stderr
# naming the problem, a non-zero exit (no crash, no traceback), and no DST (or
# temporary file) left behind. A good cfg + weights pair is converted first so
# that the failures are failures for the stated reason.
conv=$1 tmp=$2/darknet-errors.$$
pass=0 fail=0
if [ -z "$conv" ] || [ -z "$2" ]; then
  echo "usage: $0 FCN_CONVERT TMPDIR" >&2
  exit 2
fi
mkdir -p "$tmp" || exit 2
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_fail NAME NEEDLE SRC [OPTIONS...]: converts SRC to $tmp/dst.bin
expect_fail() {
  name=$1 needle=$2; shift 2
  rm -f "$tmp/dst.bin"
  "$conv" "$@" "$tmp/dst.bin" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/err"; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
  if [ -e "$tmp/dst.bin" ]; then bad "$name: DST left behind"; else ok; fi
  if ls "$tmp" | grep -q '\.tmp'; then bad "$name: temporary file left behind"; else ok; fi
}

# a small valid classifier: conv 1x1 (2 biases + 6 weights), global average
# pool, connected 2 -> 3 (3 biases + 6 weights): 17 floats
net() {
  printf '[net]\nbatch=1\nwidth=4\nheight=4\nchannels=3\n\n'
  printf '[convolutional]\nfilters=2\nsize=1\nstride=1\npad=1\nactivation=leaky\n\n'
}
head_() {
  printf '[avgpool]\n\n[connected]\noutput=3\nactivation=linear\n\n[softmax]\ngroups=1\n'
}
# zeros(FILE, BYTES): version 0.0.0 header (16 bytes, 32-bit seen) + floats, all 0
zeros() { dd if=/dev/zero of="$1" bs="$2" count=1 2>/dev/null; }

{ net; head_; } >"$tmp/good.cfg"
zeros "$tmp/good.weights" 84        # 16 + 17 * 4
if "$conv" "$tmp/good.cfg" "$tmp/good.bin" >"$tmp/out" 2>"$tmp/err" &&
   [ -s "$tmp/good.bin" ] && [ ! -s "$tmp/err" ]; then ok
else bad "good cfg: $(cat "$tmp/out" "$tmp/err")"; fi

# 1. unsupported section: named with its index and the supported list
{ net; printf '[upsample]\nstride=2\n\n'; head_; } >"$tmp/upsample.cfg"
zeros "$tmp/upsample.weights" 84
expect_fail "unsupported section" "\[upsample\] #1 .*supported: \[net\], \[convolutional\]" \
  "$tmp/upsample.cfg"
{ net; printf '[yolo]\nmask=0,1,2\n'; } >"$tmp/yolo.cfg"
zeros "$tmp/yolo.weights" 48
expect_fail "yolo section" "\[yolo\] #1 .*supported:" "$tmp/yolo.cfg"

# 2. truncated weights, and weights with bytes to spare
zeros "$tmp/short.weights" 80
expect_fail "truncated weights" "truncated: the cfg needs 17 floats" \
  "$tmp/good.cfg" --weights "$tmp/short.weights"
zeros "$tmp/header.weights" 10
expect_fail "weights shorter than the header" "truncated" \
  "$tmp/good.cfg" --weights "$tmp/header.weights"
zeros "$tmp/long.weights" 88
expect_fail "extra bytes in weights" "4 bytes left over" \
  "$tmp/good.cfg" --weights "$tmp/long.weights"

# 3. a cfg that is not a cfg
printf 'this is not\na darknet cfg\n' >"$tmp/text.cfg"
zeros "$tmp/text.weights" 84
expect_fail "text, not a cfg" "not a Darknet cfg" "$tmp/text.cfg"
zeros "$tmp/binary.cfg" 300
zeros "$tmp/binary.weights" 84
expect_fail "binary, not a cfg" "not a Darknet cfg" "$tmp/binary.cfg"
{ printf '[convolutional]\nfilters=2\n'; head_; } >"$tmp/nonet.cfg"
zeros "$tmp/nonet.weights" 84
expect_fail "cfg without [net]" "not a Darknet cfg: the first section is \[convolutional\]" \
  "$tmp/nonet.cfg"
: >"$tmp/empty.cfg"
zeros "$tmp/empty.weights" 84
expect_fail "empty cfg" "not a Darknet cfg" "$tmp/empty.cfg"

# 4. missing weights file (beside the cfg, and given with --weights)
{ net; head_; } >"$tmp/noweights.cfg"
expect_fail "missing weights beside the cfg" "noweights.weights: no such file" \
  "$tmp/noweights.cfg"
expect_fail "missing --weights" "none.weights: no such file" \
  "$tmp/good.cfg" --weights "$tmp/none.weights"
expect_fail "missing cfg" "no such file" "$tmp/none.cfg"

# other refusals: an activation fcn lacks, darknet's all-values softmax over a
# map, a standalone [batchnorm]
sed 's/activation=leaky/activation=ramp/' "$tmp/good.cfg" >"$tmp/ramp.cfg"
zeros "$tmp/ramp.weights" 84
expect_fail "ramp activation" "activation 'ramp' is not supported" "$tmp/ramp.cfg"
{ net; printf '[softmax]\n'; } >"$tmp/mapsoftmax.cfg"
zeros "$tmp/mapsoftmax.weights" 48      # 16 + 8 * 4
expect_fail "softmax over a map" "softmax over a 2x4x4 map" "$tmp/mapsoftmax.cfg"
{ net; printf '[batchnorm]\n\n'; head_; } >"$tmp/bn.cfg"
zeros "$tmp/bn.weights" 108             # + 3 * 2 floats
expect_fail "standalone batchnorm" "\[batchnorm\] #1" "$tmp/bn.cfg"

[ -n "$KEEP" ] || rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
