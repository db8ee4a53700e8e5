#!/bin/sh
# test_convert_onnx_errors.sh FCN_CONVERT TMPDIR
# fcn-convert on ONNX models it must refuse: a non-zero exit (no crash), exactly
# one line on stderr naming the problem (for an unsupported op: its type and the
# node's name), and no DST written (an existing DST is left untouched). The
# models are built here with python3-onnx; exit 77 (skip) without it.
conv=$1 tmp=$2/convert-onnx.$$
py=${PYTHON:-/usr/bin/python3}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! "$py" -c 'import onnx, numpy' 2>/dev/null; then
  echo "SKIP: $py cannot import onnx (apt-get install python3-onnx)"
  exit 77
fi
mkdir -p "$tmp" || exit 1

"$py" - "$tmp" <<'EOF' || { echo "cannot build the test models"; exit 1; }
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper
d = sys.argv[1]
N = helper.make_node
r = np.random.RandomState(0)
W = r.randn(4, 3, 3, 3).astype(np.float32)
B = np.zeros(4, np.float32)
D = r.randn(5, 144).astype(np.float32)


def save(name, nodes, inits=None, shape=(1, 3, 8, 8), extra_inputs=()):
    inits = dict(W=W, B=B, D=D, **(inits or {}))
    gi = [helper.make_tensor_value_info("input", TP.FLOAT, list(shape))] + list(extra_inputs)
    go = [helper.make_tensor_value_info(nodes[-1].output[0], TP.FLOAT, [1, 5])]
    g = helper.make_graph(nodes, name, gi, go,
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, os.path.join(d, name + ".onnx"))
    return m


conv = N("Conv", ["input", "W", "B"], ["c"], name="conv1", kernel_shape=[3, 3])
head = [N("Flatten", ["x"], ["f"], name="flat"), N("Gemm", ["f", "D"], ["y"], name="fc", transB=1)]
good = save("good", [conv, N("Relu", ["c"], ["x"], name="relu1")] + head)
save("dynamic", good.graph.node, shape=("N", 3, "H", "W"))
save("unsupported", [conv, N("Elu", ["c"], ["x"], name="elu_1")] + head)
save("silu", [conv, N("Sigmoid", ["c"], ["s"], name="sig"),
              N("Mul", ["c", "s"], ["x"], name="swish_mul")] + head)
save("addconst", [conv, N("Relu", ["c"], ["r"], name="relu1"),
                  N("Add", ["r", "K"], ["x"], name="add_k")] + head,
     dict(K=np.ones((1, 4, 1, 1), np.float32)))
save("transpose", [conv, N("Transpose", ["c"], ["x"], name="tr", perm=[0, 1, 3, 2])] + head)
save("reshape", [conv, N("Reshape", ["c", "S"], ["x"], name="resh")] + head,
     dict(S=np.array([1, 4, 36], np.int64)))
save("two_inputs", good.graph.node,
     extra_inputs=[helper.make_tensor_value_info("mask", TP.FLOAT, [1])])
data = good.SerializeToString()
open(os.path.join(d, "truncated.onnx"), "wb").write(data[:len(data) // 2])
open(os.path.join(d, "truncated_end.onnx"), "wb").write(data[:-7])
open(os.path.join(d, "text.onnx"), "w").write("this is not an ONNX model\n")
open(os.path.join(d, "empty.onnx"), "wb").close()
EOF

dst=$tmp/out.bin
# expect_fail NAME NEEDLE... -- SRC [OPTIONS]: runs fcn-convert SRC [OPTIONS] DST
# (argparse takes DST after the options); wants an exit status 1..127, exactly
# one stderr line holding every NEEDLE, and no DST or temporary file.
expect_fail() {
  name=$1; shift
  needles=""
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    needles="$needles$1
"
    shift
  done
  shift
  rm -f "$dst"
  "$conv" "$@" "$dst" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  okay=1
  [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] || okay=0
  printf '%s' "$needles" > "$tmp/needles"
  while IFS= read -r n; do
    [ -n "$n" ] && ! grep -qF -- "$n" "$tmp/err" && okay=0
  done <"$tmp/needles"
  [ -e "$dst" ] && okay=0
  for f in "$dst".tmp*; do [ -e "$f" ] && okay=0; done
  if [ $okay -eq 1 ]; then ok
  else bad "$name: rc=$rc, dst $( [ -e "$dst" ] && echo left || echo absent), stderr: $(cat "$tmp/err")"; fi
}

m=$tmp
if "$conv" "$m/good.onnx" "$dst" >"$tmp/out" 2>&1 && [ "$(head -c 8 "$dst")" = FCNMODEL ]; then ok
else bad "good model: $(cat "$tmp/out")"; fi

expect_fail "unsupported op" "Elu" "elu_1" "supported ops:" -- "$m/unsupported.onnx"
expect_fail "not ONNX (text)" "ONNX" -- "$m/text.onnx"
expect_fail "empty file" "ONNX" -- "$m/empty.onnx"
expect_fail "truncated (half)" "ONNX" -- "$m/truncated.onnx"
expect_fail "truncated (end)" "ONNX" -- "$m/truncated_end.onnx"
expect_fail "missing file" "no such file" -- "$m/none.onnx"
expect_fail "dynamic size" "--input-size" -- "$m/dynamic.onnx"
expect_fail "--input-size mismatch" "disagrees" -- "$m/good.onnx" --input-size 3x9x9
expect_fail "x * sigmoid(x)" "Mul" "swish_mul" -- "$m/silu.onnx"
expect_fail "constant add after relu" "Add" "add_k" -- "$m/addconst.onnx"
expect_fail "transpose" "Transpose" "'tr'" "perm" -- "$m/transpose.onnx"
expect_fail "reshape" "Reshape" "resh" "flatten" -- "$m/reshape.onnx"
expect_fail "two inputs" "2 inputs" -- "$m/two_inputs.onnx"

# a dynamic model converts with --input-size
rm -f "$dst"
if "$conv" "$m/dynamic.onnx" "$dst" --input-size 3x8x8 >"$tmp/out" 2>&1 && [ -s "$dst" ]; then ok
else bad "dynamic with --input-size: $(cat "$tmp/out")"; fi
# a failed conversion leaves an existing DST as it was
printf 'old' >"$dst"
"$conv" "$m/unsupported.onnx" "$dst" >/dev/null 2>&1
if [ "$(cat "$dst")" = old ]; then ok; else bad "existing DST changed by a failed conversion"; fi

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
