#!/bin/sh
# test_detect_stream.sh FCN_DETECT MODEL DEMO TMPDIR SIZE [quick]
# fcn-detect on streamed input (docs/detect.md, "Streamed input"): DEMO (the
# demo image's items) embedded by `vips embed` in a SIZE x SIZE black canvas,
# saved by vips as a tiled, JPEG-compressed BigTIFF, and that TIFF's pixels
# written whole as a PNG by `vips copy`. At scale 1 the TIFF streamed under
# two --mem-limit values (many blocks, one block) and the PNG with --stream
# give exactly the detections (labels, classes, scores, boxes, cells,
# padded) of the in-memory run on the PNG; with the default pyramid
# (0.9, 0.75, 0.6: levels resized by libvips, not stb_image_resize) every
# detection scoring >= 0.95 on either side has one of its label and scale
# on the other whose box is within one level pixel (1 / scale) on every
# coordinate and whose score is within 0.05; the streamed run's peak RSS
# (/usr/bin/time -v) within the model file's size + --mem-limit + 100 MB;
# --geojson has one feature per detection; --draw and --heatmap refused
# with --stream in one line, and so are a TIFF smaller than the network and
# a --mem-limit below one cell (naming the file). "quick" (a sanitizer build): no RSS bound
# (the sanitizers' own memory), SKIPPED said. Ends with "N passed, N failed".
det=$1 model=$2 demo=$3 tmp=$4/detect-stream.$$ size=$5 quick=$6
py=/usr/bin/python3
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

vips embed "$demo" "$tmp/canvas.v" $((size / 2 - 200)) $((size / 2 - 150)) \
  "$size" "$size" &&
vips tiffsave "$tmp/canvas.v" "$tmp/big.tif" --tile --tile-width 256 \
  --tile-height 256 --compression jpeg --Q 90 --bigtiff &&
vips copy "$tmp/big.tif" "$tmp/whole.png" && rm -f "$tmp/canvas.v" ||
  { echo "vips could not make the images"; echo "0 passed, 1 failed"; exit 1; }

# same: scale-1 detections of A and B equal (and > 10 of them)
same() {
  $py - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("label", "class", "score", "box", "scale", "cell", "padded")
da = [[d[k] for k in keys] for d in a["detections"]]
db = [[d[k] for k in keys] for d in b["detections"]]
ok = da == db and len(da) > 10 and (a["width"], a["height"]) == \
    (b["width"], b["height"])
if not ok:
    print("differ:", len(da), len(db), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
# near A B: the pyramid's detections >= 0.95 matched both ways
near() {
  $py - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p))["detections"] for p in sys.argv[1:3])
def match(x, ys):
    tol = 1 / x["scale"] + 1e-6
    return any(y["label"] == x["label"] and y["scale"] == x["scale"] and
               abs(y["score"] - x["score"]) <= 0.05 and
               all(abs(u - v) <= tol for u, v in zip(x["box"], y["box"]))
               for y in ys)
bad = [x for x in a if x["score"] >= 0.95 and not match(x, b)] + \
      [y for y in b if y["score"] >= 0.95 and not match(y, a)]
strong = sum(x["score"] >= 0.95 for x in a)
if bad or strong < 5:
    print("unmatched:", bad, "strong:", strong, file=sys.stderr)
sys.exit(0 if not bad and strong >= 5 else 1)
PY
}
# tiles FILE: the blocks of the first level
tiles() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["scales"][0]["tiles"])' "$1"; }

name="in-memory run on the PNG, scale 1"
"$det" "$model" "$tmp/whole.png" --scales 1 -q --json "$tmp/mem.json"
check [ $? -eq 0 ]
for lim in 2M 256M; do
  /usr/bin/time -v "$det" "$model" "$tmp/big.tif" --scales 1 -q \
    --mem-limit $lim --json "$tmp/s$lim.json" 2>"$tmp/time"
  rc=$?
  name="streamed TIFF, --mem-limit $lim: exit 0"; check [ $rc -eq 0 ]
  name="streamed TIFF, --mem-limit $lim: detections equal the in-memory ones"
  check same "$tmp/mem.json" "$tmp/s$lim.json"
  if [ $lim = 2M ]; then
    name="--mem-limit 2M: several blocks"
    check [ "$(tiles "$tmp/s2M.json")" -gt 1 ]
    if [ "$quick" = quick ]; then
      echo "SKIPPED: peak RSS bound (sanitizer build)"
    else
      rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
      bound=$(( $(wc -c <"$model") / 1024 + 2048 + 102400 ))
      name="peak RSS ${rss} KB within ${bound} KB"
      check [ "${rss:-999999999}" -le $bound ]
    fi
  else
    name="--mem-limit 256M: one block"
    check [ "$(tiles "$tmp/s256M.json")" -eq 1 ]
  fi
done
name="--stream on the PNG (decoded whole, copied by windows): equal"
"$det" "$model" "$tmp/whole.png" --scales 1 -q --stream --mem-limit 2M \
  --json "$tmp/sp.json" && same "$tmp/mem.json" "$tmp/sp.json"
check [ $? -eq 0 ]

name="pyramid: in-memory and streamed, boxes within a level pixel"
"$det" "$model" "$tmp/whole.png" -q --json "$tmp/pm.json" &&
"$det" "$model" "$tmp/big.tif" -q --mem-limit 4M --json "$tmp/ps.json" \
  --geojson "$tmp/ps.geojson" && near "$tmp/pm.json" "$tmp/ps.json"
check [ $? -eq 0 ]
name="streamed --geojson: one feature per detection"
check $py -c 'import json,sys
g=json.load(open(sys.argv[1])); j=json.load(open(sys.argv[2]))
sys.exit(not (g["type"]=="FeatureCollection" and
    len(g["features"])==len(j["detections"])>0))' "$tmp/ps.geojson" "$tmp/ps.json"

for o in "--draw $tmp/x.png" "--heatmap Bag $tmp/x.png"; do
  name="--stream $o refused in one line"
  "$det" "$model" "$tmp/big.tif" --stream $o >"$tmp/o" 2>"$tmp/e"
  rc=$?
  [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] &&
    grep -q "whole image" "$tmp/e" && [ ! -e "$tmp/x.png" ]
  check [ $? -eq 0 ]
done

# refused NAME NEEDLE ARGS...: status 1, one stderr line with NEEDLE, no JSON
refused() {
  name=$1 needle=$2; shift 2
  "$det" "$model" "$@" -q >"$tmp/o" 2>"$tmp/e"
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] &&
    grep -q -- "$needle" "$tmp/e" && [ ! -s "$tmp/o" ]
  check [ $? -eq 0 ]
}
vips crop "$tmp/whole.png" "$tmp/tiny.tif" 0 0 20 20
refused "streamed 20x20 TIFF" "tiny.tif: 20x20 is smaller than the network" \
  "$tmp/tiny.tif"
refused "streamed with --mem-limit 64K" "big.tif: scale 0.9: memory limit" \
  "$tmp/big.tif" --mem-limit 64K

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
