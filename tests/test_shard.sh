#!/bin/sh
# test_shard.sh FCN_RUN FCN_MERGE MODEL IMAGE TMPDIR SIZE [quick]
# Split runs (docs/scale-out.md) with the bundled model: a SIZE x SIZE tiled
# BigTIFF and a PNG of it (vips), each in 3 parts run as separate processes
# at once, merged by fcn-merge into .npy and .tif files equal byte for byte
# to a single fcn-run's (bit-exact regions: docs/engine.md); the bands and
# input windows of --plan against the documented geometry (stride 4, 28x28
# window, (H-28)//4+1 cells) and the split rule, computed here in Python;
# a part killed (SIGKILL) while it runs leaves no output and an incomplete
# manifest, and its rerun resumes; inputs split by k mod N with their
# outputs equal to single runs', a killed list part resumed with what it
# finished kept; and every refusal (a missing, incomplete, damaged or
# foreign part, parts of two splits, mixed kernel variants, bad options),
# one line, exit status 1, nothing written. Ends with "N passed, N failed".
run=$1 merge=$2 model=$3 image=$4 tmp=$5/shard.$$ size=$6 quick=$7
py=/usr/bin/python3
. "$(dirname "$0")/check.sh"
rm -rf "$tmp"
mkdir -p "$tmp"

vips replicate "$image" "$tmp/rep.v" $((size / 224 + 1)) $((size / 160 + 1)) &&
vips crop "$tmp/rep.v" "$tmp/big.tif[tile,tile-width=256,tile-height=256,bigtiff]" \
  0 0 "$size" $((size * 3 / 4)) && vips copy "$tmp/big.tif" "$tmp/big.png" &&
  rm -f "$tmp/rep.v" ||
  { echo "vips could not make the images"; echo "0 passed, 1 failed"; exit 1; }

# ---- one image in 3 bands, 3 processes at once, merged ----
for f in big.tif big.png; do
  "$run" "$model" "$tmp/$f" --out "$tmp/single-$f.npy" -q >/dev/null
  d=$tmp/parts-$f
  for i in 0 1 2; do
    "$run" "$model" "$tmp/$f" --shard $i/3 --out-dir "$d" -q >/dev/null \
      2>"$tmp/e$i" &
  done
  wait
  name="$f: 3 parts ran: $(cat "$tmp"/e0 "$tmp"/e1 "$tmp"/e2)"
  check [ -s "$d/part-0-of-3.json" ] && [ -s "$d/part-2-of-3.json" ]
  "$merge" "$d" "$tmp/merged-$f.npy" -q
  name="$f: fcn-merge of 3 parts = the single run, byte for byte"
  check cmp -s "$tmp/merged-$f.npy" "$tmp/single-$f.npy"
done
name="the PNG's and the TIFF's maps are equal"
check cmp -s "$tmp/single-big.png.npy" "$tmp/single-big.tif.npy"
"$run" "$model" "$tmp/big.tif" --out "$tmp/single.tif" -q >/dev/null
"$merge" "$tmp/parts-big.tif" "$tmp/merged.tif" -q
name="fcn-merge to a pyramidal TIFF = the single run's TIFF, byte for byte"
check cmp -s "$tmp/merged.tif" "$tmp/single.tif"
"$run" "$model" "$tmp/big.tif" --out "$tmp/single8.tif" --tiff-mode prob8 \
  --classes Bag,background -q >/dev/null
"$merge" "$tmp/parts-big.tif" "$tmp/merged8.tif" --tiff-mode prob8 \
  --classes Bag,background -q
name="... and with --tiff-mode prob8 --classes Bag,background"
check cmp -s "$tmp/merged8.tif" "$tmp/single8.tif"
"$merge" --check "$tmp/parts-big.tif" 2>"$tmp/e"
name="fcn-merge --check: exit 0 ($(cat "$tmp/e"))"
check grep -q "3 parts, 3 outputs" "$tmp/e"

# ---- the plan against the split rule and the documented geometry ----
"$run" "$model" "$tmp/big.tif" --plan 3 >"$tmp/plan.json"
name="--plan 3: exit 0"
check [ $? -eq 0 ]
"$run" "$model" "$tmp/big.tif" --plan 4 --cells 10,20,30,40 >"$tmp/plan4.json"
$py - "$tmp/plan.json" "$tmp/plan4.json" "$size" "$tmp/parts-big.tif" <<'PY'
import json, os, sys
h, w = int(sys.argv[3]) * 3 // 4, int(sys.argv[3])
S, RF = 4, 28
mh, mw = (h - RF) // S + 1, (w - RF) // S + 1
bad = 0
def want(cond, what):
    global bad
    if not cond:
        bad += 1
        print("FAIL:", what, file=sys.stderr)
for f, n, reg in ((sys.argv[1], 3, (0, 0, mh, mw)),
                  (sys.argv[2], 4, (10, 20, 30, 40))):
    p = json.load(open(f))
    want(p["job"]["parts"] == n and p["job"]["mode"] == "cells", f + ": job")
    want(len(p["parts"]) == n, f + ": %d parts" % n)
    for i, part in enumerate(p["parts"]):
        u, = part["units"]
        r0 = reg[0] + i * reg[2] // n
        r1 = reg[0] + (i + 1) * reg[2] // n
        want(u["cells"] == [r0, reg[1], r1 - r0, reg[3]], "%s part %d cells %s" % (f, i, u["cells"]))
        want(u["map"][1:] == [mh, mw] and u["image"] == [h, w], "map, image")
        y0, x0 = r0 * S, reg[1] * S
        y1 = min(h, (r1 - 1) * S + RF); x1 = min(w, (reg[1] + reg[3] - 1) * S + RF)
        want(u["input_window"] == [y0, x0, y1 - y0, x1 - x0],
             "%s part %d window %s, want %s" % (f, i, u["input_window"], [y0, x0, y1 - y0, x1 - x0]))
        want(u["cost"]["cells"] == (r1 - r0) * reg[3], "cost cells")
        want(u["cost"]["gflop"] > 0, "cost gflop")
# the run's manifests say what the plan said
p = json.load(open(sys.argv[1]))
for i, part in enumerate(p["parts"]):
    m = json.load(open(os.path.join(sys.argv[4], "part-%d-of-3.json" % i)))
    u, = part["units"]
    e, = m["entries"]
    want(m["job"] == p["job"] and m["complete"] is True, "manifest %d job" % i)
    want(e["cells"] == u["cells"] and e["input_window"] == u["input_window"]
         and e["output"] == u["output"], "manifest %d entry" % i)
    want(e["geometry"] == {"stride": [4, 4], "offset": [0, 0], "receptive_field": [28, 28]}, "geometry")
print("plan: %d wrong" % bad)
sys.exit(1 if bad else 0)
PY
name="plan bands, windows, costs, manifests against the rule and geometry"
check [ $? -eq 0 ]

# ---- killed and resumed ----
d=$tmp/kill
for i in 0 2; do
  "$run" "$model" "$tmp/big.tif" --shard $i/3 --out-dir "$d" -q >/dev/null
done
"$run" "$model" "$tmp/big.tif" --shard 1/3 --out-dir "$d" --threads 1 -q \
  >/dev/null 2>&1 &
pid=$!
n=0  # killed once its manifest is there: while it computes its band
while [ $n -lt 400 ] && [ ! -e "$d/part-1-of-3.json" ]; do
  sleep 0.02; n=$((n + 1))
done
kill -KILL $pid 2>/dev/null && killed=1 || killed=0
wait $pid 2>/dev/null
if [ $killed = 1 ] && [ ! -e "$d/big.part-1-of-3.npy" ]; then
  name="killed mid-part: no output, manifest incomplete"
  check grep -q '"complete": false' "$d/part-1-of-3.json"
  refused "fcn-merge of an incomplete part" "part incomplete" \
    "$tmp/m-kill.npy" "$merge" "$d" "$tmp/m-kill.npy"
else
  echo "SKIPPED: the part ended before the kill"
fi
"$run" "$model" "$tmp/big.tif" --shard 1/3 --out-dir "$d" -q >/dev/null
"$merge" "$d" "$tmp/m-kill.npy" -q
name="rerun after the kill, merged = the single run"
check cmp -s "$tmp/m-kill.npy" "$tmp/single-big.tif.npy"
"$run" "$model" "$tmp/big.tif" --shard 1/3 --out-dir "$d" 2>"$tmp/e" >/dev/null
name="a finished part reruns nothing: $(cat "$tmp/e")"
check grep -q "0 of 1 unit run, 1 done before" "$tmp/e"

# ---- several inputs: input k in part k mod N ----
mkdir -p "$tmp/in" "$tmp/ref"
for k in 0 1 2 3 4; do
  vips crop "$tmp/big.png" "$tmp/in/im$k.png" $((k * 37)) $((k * 11)) \
    $((size / 2)) $((size / 3))
  "$run" "$model" "$tmp/in/im$k.png" --out "$tmp/ref/im$k.npy" -q >/dev/null
done
d=$tmp/list
"$run" "$model" "$tmp"/in/im*.png --shard 1/2 --out-dir "$d" -q >/dev/null &
pid=$!
n=0
while [ $n -lt 200 ] && ! grep -q '"output"' "$d/part-1-of-2.json" 2>/dev/null; do
  sleep 0.05; n=$((n + 1))
done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
$py - "$d/part-1-of-2.json" <<'PY' 2>"$tmp/e"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["part"] == 1 and m["job"]["mode"] == "list"
assert all(e["output"] in ("im1.npy", "im3.npy") for e in m["entries"]), m
PY
name="a list part killed: its manifest valid JSON, only its own outputs $(cat "$tmp/e")"
check [ $? -eq 0 ]
before=$($py -c "import json,sys; print(len(json.load(open(sys.argv[1]))['entries']))" "$d/part-1-of-2.json")
"$run" "$model" "$tmp"/in/im*.png --shard 1/2 --out-dir "$d" 2>"$tmp/e" >/dev/null
name="its rerun keeps the $before finished: $(cat "$tmp/e")"
check grep -q "$((2 - before)) of 2 units run, $before done before" "$tmp/e"
"$run" "$model" "$tmp"/in/im*.png --shard 0/2 --out-dir "$d" -q >/dev/null
okall=1
for k in 0 1 2 3 4; do cmp -s "$d/im$k.npy" "$tmp/ref/im$k.npy" || okall=0; done
name="5 inputs in 2 parts: every map = its single run's, byte for byte"
check [ $okall = 1 ]
name="part 0 has inputs 0, 2, 4"
check $py -c "import json,sys; m=json.load(open(sys.argv[1])); assert sorted(e['output'] for e in m['entries'])==['im0.npy','im2.npy','im4.npy']" "$d/part-0-of-2.json"
"$merge" --check "$d" 2>"$tmp/e"
name="fcn-merge --check of the list: $(cat "$tmp/e")"
check grep -q "2 parts, 5 outputs" "$tmp/e"
refused "fcn-merge DIR OUT of a list" "split by inputs" "$tmp/x.npy" \
  "$merge" "$d" "$tmp/x.npy"
mkdir -p "$tmp/in2"
cp "$tmp/in/im0.png" "$tmp/in2/im1.png"
refused "two inputs, one output name" "would both write" "$tmp/dup" \
  "$run" "$model" "$tmp/in/im1.png" "$tmp/in2/im1.png" --shard 0/2 \
  --out-dir "$tmp/dup"

# ---- refusals ----
d=$tmp/parts-big.tif
cp -r "$d" "$tmp/bad"
$py - "$tmp/bad/big.part-1-of-3.npy" <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(-3, 2); b = f.read(1); f.seek(-3, 2)
f.write(bytes([b[0] ^ 1])); f.close()
PY
refused "a part's output damaged (one bit, same size)" "SHA-256" \
  "$tmp/m.npy" "$merge" "$tmp/bad" "$tmp/m.npy"
"$run" "$model" "$tmp/big.tif" --shard 1/3 --out-dir "$tmp/bad" 2>"$tmp/e" \
  >/dev/null
name="... its part reruns it: $(cat "$tmp/e")"
check grep -q "running it again" "$tmp/e"
"$merge" "$tmp/bad" "$tmp/m.npy" -q
name="... and the merge is whole again"
check cmp -s "$tmp/m.npy" "$tmp/single-big.tif.npy"
rm -f "$tmp/m.npy"
rm "$tmp/bad/part-2-of-3.json"
refused "a part missing" "1 of 3 parts missing (part 2)" "$tmp/m.npy" \
  "$merge" "$tmp/bad" "$tmp/m.npy"
refused "a part of another job (--mean) into the same DIR" \
  "a part of another job" "$tmp/bad/nothing" \
  "$run" "$model" "$tmp/big.tif" --shard 1/3 --out-dir "$tmp/bad" --mean 0.5
"$run" "$model" "$tmp/big.tif" --shard 2/3 --out-dir "$tmp/bad" -q >/dev/null
"$run" "$model" "$tmp/big.tif" --shard 0/2 --out-dir "$tmp/bad" -q >/dev/null
refused "parts of two splits in one DIR" "split in" "$tmp/m.npy" \
  "$merge" "$tmp/bad" "$tmp/m.npy"
rm "$tmp/bad/part-0-of-2.json"
$py - "$tmp/bad/part-0-of-3.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["job"]["options"]["precision"] = "bf16"
json.dump(m, open(sys.argv[1], "w"))
PY
refused "a manifest of another job" "another job than part 0" \
  "$tmp/m.npy" "$merge" "$tmp/bad" "$tmp/m.npy"
echo '{"fcn_shard": 1, "job": {"parts": 3}, "part": 0, "complete": true,
 "entries": [{"input": "x"}]}' >"$tmp/bad/part-0-of-3.json"
refused "a manifest with a bad entry" "entry 0" "$tmp/m.npy" \
  "$merge" "$tmp/bad" "$tmp/m.npy"
echo 'not json' >"$tmp/bad/part-0-of-3.json"
refused "a manifest that is not JSON" "not JSON" "$tmp/m.npy" \
  "$merge" "$tmp/bad" "$tmp/m.npy"
refused "... nor resumes its part" "not JSON" "$tmp/bad/x" \
  "$run" "$model" "$tmp/big.tif" --shard 0/3 --out-dir "$tmp/bad"
$py - "$d/part-1-of-3.json" "$tmp/mixed" "$d" <<'PY'
import json, os, shutil, sys
shutil.copytree(sys.argv[3], sys.argv[2])
p = os.path.join(sys.argv[2], "part-1-of-3.json")
m = json.load(open(p)); m["entries"][0]["kernels"] = "fcn AVX2/FMA 6x16 kernel, weights packed at load"
json.dump(m, open(p, "w"))
PY
refused "parts that ran different kernels" "different kernels" \
  "$tmp/m.npy" "$merge" "$tmp/mixed" "$tmp/m.npy"
"$merge" "$tmp/mixed" "$tmp/m.npy" --allow-mixed-kernels -q
name="... merged with --allow-mixed-kernels"
check cmp -s "$tmp/m.npy" "$tmp/single-big.tif.npy"
rm -f "$tmp/m.npy"
refused "an empty directory" "no manifests" "$tmp/m.npy" \
  "$merge" "$tmp/in" "$tmp/m.npy"
refused "--shard without --out-dir" "needs --out-dir" "$tmp/x" \
  "$run" "$model" "$tmp/big.tif" --shard 0/3
refused "--shard 3/3" "I/N" "$tmp/x" \
  "$run" "$model" "$tmp/big.tif" --shard 3/3 --out-dir "$tmp/x"
refused "--shard with --out" "no --out" "$tmp/x" \
  "$run" "$model" "$tmp/big.tif" --shard 0/3 --out-dir "$tmp/x" --out a.npy
refused "more parts than rows of cells" "at most 30 parts" "$tmp/x" \
  "$run" "$model" "$tmp/big.tif" --shard 0/31 --out-dir "$tmp/x" \
  --cells 0,0,30,5
refused "--plan with --shard" "one or the other" "$tmp/x" \
  "$run" "$model" "$tmp/big.tif" --shard 0/3 --plan 3 --out-dir "$tmp/x"
refused "--shard of stdin" "not '-'" "$tmp/x" \
  "$run" "$model" - --shard 0/3 --out-dir "$tmp/x"
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
