#!/bin/sh
# test_detect_cli.sh FCN_DETECT TMPDIR MODEL IMAGE TRUTH PADDED_MODEL
# fcn-detect end to end: its JSON parsed and checked (geometry of every box,
# padded cells, the bundled example's items found), --draw and --heatmap
# PNGs decoded and their size checked, several images with a bad one in the
# middle, --list, exit codes, one-line errors, no partial output files.
# Needs python3 (standard library only).
det=$1 tmp=$2/detect-cli.$$ model=$3 image=$4 truth=$5 padded=$6
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"
# check NAME PYTHON-CODE [ARGS]: run python3 code (sys.argv[1:] = ARGS)
check() {
  name=$1 code=$2; shift 2
  if python3 -c "$code" "$@" >"$tmp/py" 2>&1; then ok
  else bad "$name: $(cat "$tmp/py")"; fi
}
# expect_fail NAME RC NEEDLE CMD...: exit status RC, exactly one stderr line
# containing NEEDLE.
expect_fail() {
  name=$1 want=$2 needle=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ $rc -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q -- "$needle" "$tmp/err"; then ok
  else bad "$name: rc=$rc (want $want), stderr: $(cat "$tmp/err")"; fi
}

# Python helpers shared by the checks: PNG size by decoding (zlib), IoU.
cat >"$tmp/lib.py" <<'EOF'
import json, struct, sys, zlib
def png_size(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, [], None
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4]); tag = b[pos + 4:pos + 8]
        if tag == b"IHDR": hdr = struct.unpack(">IIBBBBB", b[pos + 8:pos + 21])
        if tag == b"IDAT": idat.append(b[pos + 8:pos + 8 + n])
        pos += 12 + n
    w, h, depth, ctype = hdr[:4]
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(idat))
    assert depth == 8 and len(raw) == h * (1 + w * ch), "pixel data size"
    return w, h, ch
def iou(a, b):
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return 0 if iw <= 0 or ih <= 0 else iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)
EOF
py() { PYTHONPATH="$tmp" check "$@"; }

# ---- one image: JSON, geometry, the example's items ----
if "$det" "$model" "$image" --json "$tmp/one.json" --draw "$tmp/one.png" \
     --heatmap Trouser "$tmp/heat.png" >"$tmp/out" 2>"$tmp/err"; then ok
else bad "good run: $(cat "$tmp/err")"; fi
[ -s "$tmp/out" ] && bad "stdout not empty with --json" || ok
[ -s "$tmp/err" ] && bad "stderr not empty off a terminal: $(cat "$tmp/err")" || ok
py "JSON layout" '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict), "one image gives an object"
for k in ("image", "width", "height", "model", "scales", "detections"):
    assert k in d, k
assert (d["width"], d["height"]) == (224, 160), (d["width"], d["height"])
assert d["image"] == sys.argv[2] and d["model"] == sys.argv[3]
assert [round(s["scale"], 6) for s in d["scales"]] == [0.9, 0.75, 0.6], d["scales"]
for s in d["scales"]:
    assert s["width"] == int(224 * s["scale"] + 0.5) and s["height"] == int(160 * s["scale"] + 0.5)
    assert s["stride"] == [4, 4] and s["offset"] == [0, 0] and s["receptive_field"] == [28, 28]
    assert s["score_map"] == [(s["height"] - 28) // 4 + 1, (s["width"] - 28) // 4 + 1], s
    assert s["padded_cells"]["count"] == 0, "VALID network: no padding"
sc = [x["score"] for x in d["detections"]]
assert sc == sorted(sc, reverse=True), "sorted by score"
assert all(s >= 0.9 for s in sc), "default threshold 0.9"
assert all(x["label"] != "background" for x in d["detections"])
' "$tmp/one.json" "$image" "$model"
py "boxes from the geometry" '
import json, sys
d = json.load(open(sys.argv[1]))
lv = {round(s["scale"], 6): s for s in d["scales"]}
assert d["detections"], "no detections"
for x in d["detections"]:
    s = lv[round(x["scale"], 6)]
    sx, sy = s["width"] / d["width"], s["height"] / d["height"]
    i, j = x["cell"]
    x0, y0 = (j * 4) / sx, (i * 4) / sy
    x1, y1 = min(x0 + 28 / sx, d["width"]), min(y0 + 28 / sy, d["height"])
    want = [x0, y0, x1 - x0, y1 - y0]
    assert all(abs(a - b) < 1e-4 for a, b in zip(x["box"], want)), (x, want)
' "$tmp/one.json"
py "the example items found" '
import json, sys
from lib import iou
d = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
found = [it["label"] for it in t["items"]
         if any(x["label"] == it["label"] and iou(x["box"], it["box"]) >= 0.5 for x in d["detections"])]
assert len(found) >= 5, "found only %s" % found
' "$tmp/one.json" "$truth"
py "--draw PNG" '
import sys
from lib import png_size
assert png_size(sys.argv[1]) == (224, 160, 3), png_size(sys.argv[1])
' "$tmp/one.png"
py "--heatmap PNG" '
import sys
from lib import png_size
assert png_size(sys.argv[1]) == (224, 160, 3), png_size(sys.argv[1])
' "$tmp/heat.png"
# stdout gives the same JSON (but for the timings)
"$det" "$model" "$image" >"$tmp/stdout.json" 2>/dev/null && ok || bad "stdout run"
py "stdout JSON = --json" '
import json, sys
def strip(d):
    d.pop("seconds")
    for s in d["scales"]: s.pop("seconds")
    return d
assert strip(json.load(open(sys.argv[1]))) == strip(json.load(open(sys.argv[2])))
' "$tmp/one.json" "$tmp/stdout.json"

# ---- options: classes, max detections, scales, threshold ----
"$det" "$model" "$image" --classes Trouser,Bag --threshold 0.5 --scales 1 >"$tmp/c.json" 2>/dev/null && ok || bad "--classes run"
py "--classes" '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["scales"]) == 1 and d["scales"][0]["scale"] == 1
labels = {x["label"] for x in d["detections"]}
assert labels == {"Trouser", "Bag"}, labels
' "$tmp/c.json"
"$det" "$model" "$image" --threshold 0.3 >"$tmp/all.json" 2>/dev/null &&
"$det" "$model" "$image" --threshold 0.3 --max-detections 3 >"$tmp/three.json" 2>/dev/null && ok || bad "--max-detections run"
py "--max-detections = the best of the full list" '
import json, sys
a = json.load(open(sys.argv[1]))["detections"]; b = json.load(open(sys.argv[2]))["detections"]
assert len(a) > 3 and b == a[:3], (len(a), b)
' "$tmp/all.json" "$tmp/three.json"
"$det" "$model" "$image" --max-scale 1 --scale-step 0.5 --min-scale 0.1 >"$tmp/p.json" 2>/dev/null && ok || bad "pyramid run"
py "pyramid options, levels too small skipped" '
import json, sys
s = json.load(open(sys.argv[1]))["scales"]
assert [x["scale"] for x in s] == [1, 0.5, 0.25, 0.125], s
assert ["skipped" in x for x in s] == [False, False, False, True], s  # 28x20 < 28x28
' "$tmp/p.json"

# tiles (a small --mem-limit) and one thread give the same detections
"$det" "$model" "$image" --mem-limit 2M --threads 1 >"$tmp/tiled.json" 2>/dev/null && ok || bad "tiled run"
py "tiled = untiled" '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert all(s["tiles"] > 1 for s in a["scales"]), [s["tiles"] for s in a["scales"]]
assert a["detections"] == b["detections"]
' "$tmp/tiled.json" "$tmp/stdout.json"

# ---- a padded network: padded cells, boxes clipped, geometry at two scales ----
"$det" "$padded" "$image" --classes 0 --threshold -1e30 --iou 1 --scales 1,0.5 >"$tmp/pad.json" 2>/dev/null && ok || bad "padded run"
py "padded cells and boxes" '
import json, sys
d = json.load(open(sys.argv[1]))
W, H = d["width"], d["height"]
n_pad = {}
for s in d["scales"]:
    sh, sw = s["stride"]; oh, ow = s["offset"]; rh, rw = s["receptive_field"]
    mh, mw = s["score_map"]
    assert oh < 0 and ow < 0, "a padded network"
    rows = [i for i in range(mh) if i * sh + oh < 0 or i * sh + oh + rh > s["height"]]
    cols = [j for j in range(mw) if j * sw + ow < 0 or j * sw + ow + rw > s["width"]]
    want = mh * mw - (mh - len(rows)) * (mw - len(cols))
    assert s["padded_cells"]["count"] == want and want > 0, (s["padded_cells"], want)
    n_pad[round(s["scale"], 6)] = [0, mh * mw, want]
for x in d["detections"]:
    s = [s for s in d["scales"] if round(s["scale"], 6) == round(x["scale"], 6)][0]
    sh, sw = s["stride"]; oh, ow = s["offset"]; rh, rw = s["receptive_field"]
    sx, sy = s["width"] / W, s["height"] / H
    i, j = x["cell"]
    wx, wy = j * sw + ow, i * sh + oh
    padded = wx < 0 or wy < 0 or wx + rw > s["width"] or wy + rh > s["height"]
    assert x["padded"] == padded, x
    x0, y0 = max(wx / sx, 0), max(wy / sy, 0)
    x1, y1 = min((wx + rw) / sx, W), min((wy + rh) / sy, H)
    assert all(abs(a - b) < 1e-4 for a, b in zip(x["box"], [x0, y0, x1 - x0, y1 - y0])), x
    n_pad[round(x["scale"], 6)][0] += 1
    n_pad[round(x["scale"], 6)][2] -= padded
for k, (n, cells, left) in n_pad.items():
    assert n == cells and left == 0, (k, n, cells, left)  # every cell once
' "$tmp/pad.json"

# ---- several images, a bad one in the middle; --draw into a directory ----
cp "$image" "$tmp/a.png"; cp "$image" "$tmp/c.png"
printf 'not an image\n' >"$tmp/b.png"
mkdir -p "$tmp/draw"
"$det" "$model" "$tmp/a.png" "$tmp/b.png" "$tmp/c.png" --draw "$tmp/draw" \
  --heatmap Bag "$tmp/draw/{}-bag.png" --json "$tmp/multi.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && ok || bad "bad image in the middle: exit $rc"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "b.png" "$tmp/err" && ok || bad "one line about b.png: $(cat "$tmp/err")"
py "the others processed" '
import json, os, sys
from lib import png_size
d = json.load(open(sys.argv[1])); tmp = sys.argv[2]
assert isinstance(d, list) and [os.path.basename(x["image"]) for x in d] == ["a.png", "c.png"], d
assert d[0]["detections"] == d[1]["detections"]
for n in ("a.png", "c.png", "a-bag.png", "c-bag.png"):
    assert png_size(os.path.join(tmp, "draw", n)) == (224, 160, 3), n
assert sorted(os.listdir(os.path.join(tmp, "draw"))) == ["a-bag.png", "a.png", "c-bag.png", "c.png"]
' "$tmp/multi.json" "$tmp"
# --list, with a missing file, and stdout gets a list
printf '%s\n# a comment\n\n%s\n' "$tmp/a.png" "$tmp/missing.png" >"$tmp/list.txt"
"$det" "$model" --list "$tmp/list.txt" >"$tmp/list.json" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "missing.png" "$tmp/err" && ok || bad "--list: rc $rc, $(cat "$tmp/err")"
py "--list JSON" '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1 and d[0]["image"].endswith("a.png"), d
' "$tmp/list.json"

# ---- errors: one line, exit status, no files left behind ----
expect_fail "missing model" 1 "No such file" "$det" /nonexistent.bin "$image" --json "$tmp/x.json"
expect_fail "unreadable image" 1 "not a readable image" "$det" "$model" "$tmp/b.png" --json "$tmp/x.json" --draw "$tmp/x.png"
[ ! -e "$tmp/x.json" ] && [ ! -e "$tmp/x.png" ] && ok || bad "output left behind after a failed run"
expect_fail "unknown class" 1 "no class 'Hat'" "$det" "$model" "$image" --classes Trouser,Hat
expect_fail "unknown heatmap class" 1 "no class" "$det" "$model" "$image" --heatmap Hat "$tmp/h.png"
expect_fail "bad scales" 1 "--scales" "$det" "$model" "$image" --scales 1,x
expect_fail "scales and pyramid" 1 "either" "$det" "$model" "$image" --scales 1 --min-scale 0.5
expect_fail "bad iou" 1 "--iou" "$det" "$model" "$image" --iou 2
expect_fail "bad threads" 1 "--threads needs a number from 0" "$det" "$model" "$image" --threads -1
expect_fail "draw needs a directory" 1 "directory" "$det" "$model" "$image" "$image" --draw "$tmp/one-file.png"
python3 -c '
import struct, sys, zlib
w = h = 20
raw = b"".join(b"\0" + bytes(w) for _ in range(h))
ch = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + ch(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + ch(b"IDAT", zlib.compress(raw)) + ch(b"IEND", b""))
' "$tmp/tiny.png"
expect_fail "too small" 1 "smaller than the network" "$det" "$model" "$tmp/tiny.png"
expect_fail "unwritable --json" 1 "nodir/x.json: directory .*nodir. does not exist" "$det" "$model" "$image" --json "$tmp/nodir/x.json"
expect_fail "unwritable --draw" 1 "nodir/x.png: directory .*nodir. does not exist" "$det" "$model" "$image" --draw "$tmp/nodir/x.png"
ls -A "$tmp" "$tmp/draw" | grep -q '\.tmp$\|\.tmp\.' && bad "temporary file left behind" || ok
"$det" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "no arguments: exit 2"
"$det" "$model" "$image" --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown option: exit 2"
"$det" --help | grep -q "usage: fcn-detect" && ok || bad "--help"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
