#!/bin/sh
# test_convert_keras_errors.sh FCN_CONVERT TMPDIR
# tools/fcn-convert on Keras / TF.js sources it must refuse: each refusal is a
# non-zero exit (no crash), exactly one line on stderr naming the problem (no
# Python exception class or traceback), and no DST file left behind. A good
# tiny model converts, as a control. Strides, dilations, kernels, paddings,
# counts and weight shapes out of fcn's range are among the refusals.
conv=$1 tmp=$2/convert-keras.$$
mkdir -p "$tmp" || exit 2

# expect_fail NAME NEEDLE SRC: queues fcn-convert SRC DST; run_queued
# (tests/convert_errors_lib.sh) wants of each run a refusal: exit 1..127, one
# stderr line that matches NEEDLE (a basic regular expression) and holds no
# Python exception class or traceback, and no DST or temporary file.
one_needle=1
. "$(dirname "$0")/convert_errors_lib.sh"

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

# Values out of fcn's range, in TF.js layers models built here (numpy; h5py
# for the .h5 case): each is refused by name before anything is written.
if "$py" -c 'import numpy' 2>/dev/null; then
"$py" - "$tmp" <<'EOF' || bad "cannot build the range models"
import json, os, sys
import numpy as np
d = sys.argv[1]


def conv(name="conv", **cfg):
    c = dict(name=name, filters=2, kernel_size=[3, 3], strides=[1, 1], padding="valid",
             dilation_rate=[1, 1], activation="linear", use_bias=True,
             data_format="channels_last")
    c.update(cfg)
    return ["Conv2D", c]


GAP = ["GlobalAveragePooling2D", {"name": "gap", "data_format": "channels_last"}]
FC = ["Dense", {"name": "fc", "units": 2, "activation": "linear", "use_bias": True}]
CW = [("conv/kernel", [3, 3, 1, 2]), ("conv/bias", [2])]
FW = [("fc/kernel", [2, 2]), ("fc/bias", [2])]


def tfjs(case, layers, weights, shape=(4, 4, 1), fill=None):
    os.makedirs(os.path.join(d, case))
    ls = []
    for i, (cls, cfg) in enumerate(layers):
        cfg = dict(cfg)
        if i == 0:
            cfg["batch_input_shape"] = [None] + list(shape)
        ls.append({"class_name": cls, "config": cfg})
    j = {"format": "layers-model",
         "modelTopology": {"class_name": "Sequential", "config": {"name": case, "layers": ls},
                           "keras_version": "tfjs-layers 4.22.0",
                           "backend": "tensor_flow.js"},
         "weightsManifest": [{"paths": ["w.bin"], "weights": [
             {"name": n, "shape": s, "dtype": "float32"} for n, s in weights]}]}
    json.dump(j, open(os.path.join(d, case, "model.json"), "w"))
    n = sum(max(0, int(np.prod(s))) if max(s, default=0) < (1 << 24) else 0 for _, s in weights)
    w = np.zeros(n, np.float32) if fill is None else np.full(n, fill, np.float32)
    w.tofile(os.path.join(d, case, "w.bin"))


tfjs("k_good", [conv(), GAP, FC], CW + FW)
tfjs("k_stride0", [conv(strides=[0, 0]), GAP, FC], CW + FW)
# zeros written as plain numbers: not "absent" (Keras refuses them too)
tfjs("k_stride0_num", [conv(strides=0), GAP, FC], CW + FW)
tfjs("k_dil0_num", [conv(dilation_rate=0), GAP, FC], CW + FW)
tfjs("k_groups0", [conv(groups=0), GAP, FC], CW + FW)
tfjs("k_stride0_same", [conv(strides=[1, 0], padding="same"), GAP, FC], CW + FW)
tfjs("k_dil_neg", [conv(dilation_rate=-1), GAP, FC], CW + FW)
tfjs("k_dil_extent", [conv(dilation_rate=[1 << 20, 1]), GAP, FC], CW + FW)
tfjs("k_stride_huge", [conv(strides=[1 << 40, 1]), GAP, FC], CW + FW)
tfjs("k_filters0", [conv(filters=0), GAP, FC], CW + FW)
tfjs("k_filters_neg", [conv(filters=-2), GAP, FC], CW + FW)
tfjs("k_groups_neg", [conv(groups=-1), GAP, FC], CW + FW)
tfjs("k_kernel_attr", [conv(kernel_size=[5, 5]), GAP, FC], CW + FW)
tfjs("k_kernel0", [conv(kernel_size=0), GAP, FC], CW + FW)
tfjs("k_pool0", [conv(), ["MaxPooling2D", {"name": "pool", "pool_size": [0, 0]}], GAP, FC],
     CW + FW)
tfjs("k_pool_stride0", [conv(), ["MaxPooling2D", {"name": "pool", "pool_size": [2, 2],
                                                   "strides": [0, 0]}], GAP, FC], CW + FW)
tfjs("k_zeropad_huge", [["ZeroPadding2D", {"name": "zp", "padding": [[1 << 21, 0], [0, 0]]}],
                        conv(), GAP, FC], CW + FW)
tfjs("k_zeropad_neg", [["ZeroPadding2D", {"name": "zp", "padding": -1}], conv(), GAP, FC],
     CW + FW)
tfjs("k_units0", [conv(), GAP, ["Dense", {"name": "fc", "units": 0}]], CW + FW)
tfjs("k_depth0", [["DepthwiseConv2D", {"name": "dw", "kernel_size": [3, 3],
                                       "depth_multiplier": 0, "use_bias": False}], GAP, FC],
     [("dw/depthwise_kernel", [3, 3, 1, 0])] + FW)
tfjs("k_dims_neg", [conv(), GAP, FC], CW + [("fc/kernel", [-1, 2]), ("fc/bias", [2])])
tfjs("k_dims_zero", [conv(), GAP, FC], CW + [("fc/kernel", [0, 2]), ("fc/bias", [2])])
tfjs("k_dims_huge", [conv(), GAP, FC], CW + [("fc/kernel", [1 << 25, 1 << 25]), ("fc/bias", [2])])
tfjs("k_nan", [conv(), GAP, FC], CW + FW, fill=np.nan)
tfjs("k_input_big", [conv(), GAP, FC], CW + FW, shape=(70000, 4, 1))
chain = [conv("c%d" % i, kernel_size=[1, 1], strides=[1024, 1024], filters=1) for i in range(5)]
tfjs("k_stride_product", chain + [["Flatten", {"name": "flat"}]],
     [(w, s) for i in range(5) for w, s in (("c%d/kernel" % i, [1, 1, 1, 1]),
                                             ("c%d/bias" % i, [1]))])
try:
    import h5py
except ImportError:
    sys.exit(0)
cfg = {"class_name": "Sequential", "config": {"name": "bomb", "layers": [
    {"class_name": "Flatten", "config": {"name": "flatten", "batch_input_shape": [None, 2, 2, 1]}},
    {"class_name": "Dense", "config": {"name": "fc", "units": 2, "use_bias": False,
                                       "activation": "linear"}}]}}
with h5py.File(os.path.join(d, "bomb.h5"), "w") as f:
    f.attrs["model_config"] = json.dumps(cfg)
    f.attrs["keras_version"] = "2.15.0"
    g = f.create_group("model_weights").create_group("fc")
    g.attrs["weight_names"] = [b"fc/kernel:0"]
    g.create_dataset("fc/kernel:0", shape=(1 << 20, 1 << 10), dtype="f4",
                     compression="gzip", chunks=(1024, 1024))
EOF
  k=$tmp
  # the control: the model all the cases below change converts
  if "$conv" "$k/k_good/model.json" "$k/k_good.bin" >"$tmp/stdout" 2>"$tmp/stderr" &&
     [ -s "$k/k_good.bin" ]; then ok
  else bad "range control model: $(cat "$tmp/stderr")"; fi
  expect_fail "zero strides" "layer 'conv' (Conv2D): stride 0x0 must be >= 1" "$k/k_stride0/model.json"
  expect_fail "strides: 0" "layer 'conv' (Conv2D): stride 0x0 must be >= 1" "$k/k_stride0_num/model.json"
  expect_fail "dilation_rate: 0" "layer 'conv' (Conv2D): dilation 0x0 must be >= 1" "$k/k_dil0_num/model.json"
  expect_fail "groups: 0" "layer 'conv' (Conv2D): groups 0 must be >= 1" "$k/k_groups0/model.json"
  expect_fail "zero stride, same" "layer 'conv' (Conv2D): stride 1x0 must be >= 1" "$k/k_stride0_same/model.json"
  expect_fail "negative dilation_rate" "layer 'conv' (Conv2D): dilation -1x-1 must be >= 1" "$k/k_dil_neg/model.json"
  expect_fail "dilated extent" "dilated by 1048576x1 covers 2097153x3 pixels" "$k/k_dil_extent/model.json"
  expect_fail "strides 2^40" "stride 1099511627776x1 exceeds the limit" "$k/k_stride_huge/model.json"
  expect_fail "filters 0" "layer 'conv' (Conv2D): filters 0 must be >= 1" "$k/k_filters0/model.json"
  expect_fail "filters -2" "filters -2 must be >= 1" "$k/k_filters_neg/model.json"
  expect_fail "groups -1" "groups -1 must be >= 1" "$k/k_groups_neg/model.json"
  expect_fail "kernel_size vs weight" "kernel is 3x3x1x2, the layer needs 5x5x1x2" "$k/k_kernel_attr/model.json"
  expect_fail "kernel_size 0" "kernel 0x0 must be >= 1" "$k/k_kernel0/model.json"
  expect_fail "pool_size 0" "layer 'pool' (MaxPooling2D): kernel 0x0 must be >= 1" "$k/k_pool0/model.json"
  expect_fail "pool strides 0" "layer 'pool' (MaxPooling2D): stride 0x0 must be >= 1" "$k/k_pool_stride0/model.json"
  expect_fail "ZeroPadding2D 2^21" "layer 'zp' (ZeroPadding2D): padding 2097152,0,0,0 exceeds the limit of 4096" "$k/k_zeropad_huge/model.json"
  expect_fail "ZeroPadding2D -1" "padding -1,-1,-1,-1 must not be negative" "$k/k_zeropad_neg/model.json"
  expect_fail "units 0" "layer 'fc' (Dense): units 0 must be >= 1" "$k/k_units0/model.json"
  expect_fail "depth_multiplier 0" "depth_multiplier 0 must be >= 1" "$k/k_depth0/model.json"
  expect_fail "negative weight dims" "weight 'fc/kernel' has a negative dimension in its shape" "$k/k_dims_neg/model.json"
  expect_fail "zero weight dims" "kernel is 0x2, the layer needs 2x2" "$k/k_dims_zero/model.json"
  expect_fail "weight dims 2^50" "weight 'fc/kernel' of shape .* more than the limit" "$k/k_dims_huge/model.json"
  expect_fail "NaN weights" "layer 'conv' (Conv): weight 'weight' holds NaN" "$k/k_nan/model.json"
  expect_fail "input 70000 rows" "the model.s input: height 70000 exceeds the limit of 65536" "$k/k_input_big/model.json"
  expect_fail "stride product" "the network's stride reaches 1099511627776" "$k/k_stride_product/model.json"
  if [ -f "$k/bomb.h5" ]; then
    expect_fail "HDF5 decompression bomb" "claims 4294967296 bytes but stores 0" "$k/bomb.h5"
  fi
fi

run_queued

# a failed conversion does not clobber an existing DST
printf 'keep me' >"$tmp/keep.bin"
"$conv" "$tmp/text.h5" "$tmp/keep.bin" >/dev/null 2>&1
[ "$(cat "$tmp/keep.bin")" = "keep me" ] && ok || bad "existing DST overwritten by a failed run"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
