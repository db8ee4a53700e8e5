#!/bin/sh
# test_convert_keras_errors.sh FCN_CONVERT TMPDIR
# tools/fcn-convert on Keras / TF.js sources it must refuse: each refusal is a
# non-zero exit (no crash), exactly one line on stderr naming the problem, and
# no DST file left behind. A good tiny model converts, as a control.
conv=$1 tmp=$2/convert-keras.$$
pass=0 fail=0
mkdir -p "$tmp" || exit 2
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_fail NAME NEEDLE SRC: refused with one stderr line containing NEEDLE
expect_fail() {
  name=$1 needle=$2 src=$3 dst=$tmp/out.bin
  rm -f "$dst"
  "$conv" "$src" "$dst" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?
  lines=$(wc -l <"$tmp/stderr")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/stderr" && [ ! -e "$dst" ] &&
     [ -z "$(ls "$tmp" | grep '^out\.bin')" ]; then ok
  else bad "$name: rc=$rc, dst $( [ -e "$dst" ] && echo left || echo absent), stderr: $(cat "$tmp/stderr")"; fi
}

# tfjs_model DIR LAYERS WEIGHTS: DIR/model.json, a Sequential TF.js layers
# model on a 2x2x1 input whose layers are LAYERS (JSON, the first one gets
# batch_input_shape) with one weight group in w.bin described by WEIGHTS.
tfjs_model() {
  mkdir -p "$1"
  printf '{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"name":"tiny","layers":[%s]},"keras_version":"tfjs-layers 4.22.0","backend":"tensor_flow.js"},"weightsManifest":[{"paths":["w.bin"],"weights":[%s]}]}\n' "$2" "$3" >"$1/model.json"
}
flat='{"class_name":"Flatten","config":{"name":"flatten","batch_input_shape":[null,2,2,1]}}'
dense() { printf '{"class_name":"Dense","config":{"name":"fc","units":2,"activation":"%s","use_bias":true}}' "$1"; }
w() { printf '{"name":"fc/kernel","shape":[%s,2],"dtype":"float32"},{"name":"fc/bias","shape":[2],"dtype":"float32"}' "$1"; }

# control: Flatten -> Dense(2) on 4 features, 40 bytes of weights
tfjs_model "$tmp/good" "$flat,$(dense linear)" "$(w 4)"
head -c 40 /dev/zero >"$tmp/good/w.bin"
if "$conv" "$tmp/good/model.json" "$tmp/good.bin" >"$tmp/stdout" 2>"$tmp/stderr" &&
   [ -s "$tmp/good.bin" ] && [ ! -s "$tmp/stderr" ]; then ok
else bad "good tiny model: $(cat "$tmp/stderr")"; fi

# an unsupported layer: named, with its class and the supported list
up='{"class_name":"UpSampling2D","config":{"name":"up","size":[2,2],"data_format":"channels_last","batch_input_shape":[null,2,2,1]}}'
tfjs_model "$tmp/unsup" "$up,{\"class_name\":\"Flatten\",\"config\":{\"name\":\"flatten\"}},$(dense linear)" "$(w 16)"
head -c 136 /dev/zero >"$tmp/unsup/w.bin"
expect_fail "unsupported layer" "layer 'up' (UpSampling2D) is not supported; supported layers: .*Conv2D" "$tmp/unsup/model.json"

# swish: fcn has no such op
tfjs_model "$tmp/swish" "$flat,$(dense swish)" "$(w 4)"
head -c 40 /dev/zero >"$tmp/swish/w.bin"
expect_fail "swish activation" "no Swish op" "$tmp/swish/model.json"

# a file named .h5 that is not HDF5
printf 'this is not an HDF5 file\n' >"$tmp/text.h5"
expect_fail "not HDF5" "not an HDF5 file" "$tmp/text.h5"
# a .keras that is not a zip, a zip that is not a .keras
printf 'PK but not really a zip\n' >"$tmp/text.keras"
expect_fail "not zip" "not a zip archive" "$tmp/text.keras"
cp "$tmp/good.bin" "$tmp/x.keras" 2>/dev/null
expect_fail "model.bin named .keras" "not a zip archive" "$tmp/x.keras"

# a truncated weight shard (20 of 40 bytes)
tfjs_model "$tmp/trunc" "$flat,$(dense linear)" "$(w 4)"
head -c 20 /dev/zero >"$tmp/trunc/w.bin"
expect_fail "truncated shard" "truncated" "$tmp/trunc/model.json"
# a missing shard
tfjs_model "$tmp/missing" "$flat,$(dense linear)" "$(w 4)"
expect_fail "missing shard" "weight shard 'w.bin' is missing" "$tmp/missing/model.json"
# a shard longer than the manifest says
tfjs_model "$tmp/long" "$flat,$(dense linear)" "$(w 4)"
head -c 44 /dev/zero >"$tmp/long/w.bin"
expect_fail "oversized shard" "hold 44 bytes, the manifest describes 40" "$tmp/long/model.json"
# weights whose sizes do not match the layer: a 5x2 kernel for 4 features
tfjs_model "$tmp/mismatch" "$flat,$(dense linear)" "$(w 5)"
head -c 48 /dev/zero >"$tmp/mismatch/w.bin"
expect_fail "weight size mismatch" "kernel is 5x2, the layer needs 4x2" "$tmp/mismatch/model.json"

# not JSON, and JSON that is not a TF.js layers model
printf '{"modelTopology": {' >"$tmp/bad.json"
expect_fail "bad JSON" "not valid JSON" "$tmp/bad.json"
printf '{"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[]}' >"$tmp/graph.json"
expect_fail "graph model" "graph model" "$tmp/graph.json"
printf '{"class_name":"Sequential","config":{"layers":[]}}' >"$tmp/arch.json"
expect_fail "architecture only" "without weights" "$tmp/arch.json"

# a failed conversion does not clobber an existing DST
printf 'keep me' >"$tmp/keep.bin"
"$conv" "$tmp/text.h5" "$tmp/keep.bin" >/dev/null 2>&1
[ "$(cat "$tmp/keep.bin")" = "keep me" ] && ok || bad "existing DST overwritten by a failed run"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
