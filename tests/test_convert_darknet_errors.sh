#!/bin/sh
# test_convert_darknet_errors.sh FCN_CONVERT TMPDIR
# fcn-convert on Darknet inputs it must refuse: exactly one line on stderr
# naming the problem, a non-zero exit (no crash, no traceback, no Python
# exception class), and no DST (or temporary file) left behind. Sizes,
# strides, paddings and counts out of fcn's range are among the refusals. A good cfg + weights pair is converted first so
# that the failures are failures for the stated reason.
conv=$1 tmp=$2/darknet-errors.$$
if [ -z "$conv" ] || [ -z "$2" ]; then
  echo "usage: $0 FCN_CONVERT TMPDIR" >&2
  exit 2
fi
mkdir -p "$tmp" || exit 2

# expect_fail NAME NEEDLE SRC [OPTIONS...]: queues fcn-convert SRC [OPTIONS]
# $tmp/dst.bin; run_queued (tests/convert_errors_lib.sh) checks each run:
# exit 1..127 with one stderr line matching NEEDLE (a basic regular
# expression) and no Python exception class or traceback; no DST; no
# temporary file (three checks).
dst=$tmp/dst.bin one_needle=1 split_checks=1
. "$(dirname "$0")/convert_errors_lib.sh"

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

# values out of fcn's range: refused by the section's name and line, before
# the weights are read (so none are given) unless the weights are needed
conv1() {   # conv1 OPTIONS...: [net] 3x4x4, then one [convolutional] with OPTIONS
  printf '[net]\nwidth=4\nheight=4\nchannels=3\n\n[convolutional]\n'
  for o in "$@"; do printf '%s\n' "$o"; done
  printf '\n'; head_
}
range() {   # range NAME NEEDLE CFG-WRITER ARGS...
  n=$1 needle=$2; shift 2
  "$@" >"$tmp/r_$n.cfg"
  expect_fail "$n" "$needle" "$tmp/r_$n.cfg"
}
range stride0 "\[convolutional\] #0 (line 6): stride 0x0 must be >= 1" conv1 filters=2 size=3 stride=0
range size0 "#0 (line 6): kernel 0x0 must be >= 1" conv1 filters=2 size=0
range size5000 "kernel 5000x5000 exceeds the limit of 4096" conv1 filters=2 size=5000
range stride_huge "stride 2097152x2097152 exceeds the limit of 1048576" conv1 filters=2 size=1 stride=2097152
range filters_neg "filters -2 must be >= 1" conv1 filters=-2 size=1
range filters0 "filters 0 must be >= 1" conv1 filters=0 size=1
range filters_huge "filters 2000000 exceeds the limit of 1048576" conv1 filters=2000000 size=1
range groups0 "groups 0 must be >= 1" conv1 filters=2 size=1 groups=0
range pad_huge "padding 1000000,1000000,1000000,1000000 must be smaller than the 3x3 window" \
  conv1 filters=2 size=3 padding=1000000
range pad_size "padding 3,3,3,3 must be smaller than the 3x3 window" conv1 filters=2 size=3 padding=3
range pad_neg "padding -1,-1,-1,-1 must not be negative" conv1 filters=2 size=3 padding=-1
pool1() {
  printf '[net]\nwidth=4\nheight=4\nchannels=3\n\n[maxpool]\n'
  for o in "$@"; do printf '%s\n' "$o"; done
  printf '\n'; head_
}
range pool_stride0 "\[maxpool\] #0 (line 6): stride 0x0 must be >= 1" pool1 size=2 stride=0
range pool_size0 "\[maxpool\] #0 (line 6): kernel 0x0 must be >= 1" pool1 size=0 stride=1
range pool_pad_huge "padding 500000,500000,500000,500000 must be smaller than the 2x2 window" \
  pool1 size=2 stride=1 padding=1000000
range pool_pad_neg "padding -3 must be >= 0" pool1 size=2 stride=1 padding=-3
fc1() {
  printf '[net]\nwidth=%s\nheight=%s\nchannels=3\n\n[connected]\n' "${W:-4}" "${W:-4}"
  for o in "$@"; do printf '%s\n' "$o"; done
}
range output0 "\[connected\] #0 (line 6): output 0 must be >= 1" fc1 output=0
range output_neg "output -5 must be >= 1" fc1 output=-5
range output_huge "output 2097152 exceeds the limit of 1048576" fc1 output=2097152
W=1024 range inputs_huge "inputs (3x1024x1024) 3145728 exceeds the limit of 1048576" fc1 output=2
printf '[net]\nwidth=100000\nheight=4\nchannels=3\n\n[avgpool]\n' >"$tmp/r_wide.cfg"
expect_fail "width 100000" "\[net\] (line 1): width 100000 exceeds the limit of 65536" "$tmp/r_wide.cfg"
# stride products past fcn's geometry limit (2^30): five 1x1 convs of stride
# 1024; the weights are read (4 + 4 x 2 floats), the finished model refused
{ printf '[net]\nwidth=4\nheight=4\nchannels=3\n'
  for i in 1 2 3 4 5; do printf '\n[convolutional]\nfilters=1\nsize=1\nstride=1024\nactivation=linear\n'; done
} >"$tmp/r_product.cfg"
zeros "$tmp/r_product.weights" 64
expect_fail "stride product" "layer '3_convolutional' (Conv): the network's stride reaches 1099511627776" \
  "$tmp/r_product.cfg"
# channel growth: ten [route]s of the layer before with itself double conv
# #0's 2x4x4 to 2048 channels; route #10's 32768 floats pass twice the 48 + 32
# paid plus 1024 channels (the weights are read, the finished model refused)
{ printf '[net]\nwidth=4\nheight=4\nchannels=3\n\n[convolutional]\nfilters=2\nsize=1\nactivation=linear\n'
  for i in 1 2 3 4 5 6 7 8 9 10; do printf '\n[route]\nlayers=-1,-1\n'; done
} >"$tmp/r_routes.cfg"
zeros "$tmp/r_routes.weights" 48
expect_fail "self-doubling routes" \
  "layer '10_route' (Concat): its output of 32768 floats (2048 channels) is more than twice the 80 floats" \
  "$tmp/r_routes.cfg"

run_queued

[ -n "$KEEP" ] || rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
