#!/bin/sh
# test_tiffmap.sh TEST_TIFFMAP FCN_RUN FCN_DETECT TMPDIR MODEL CHECK_PY [SANITIZE]
# Score maps as tiled pyramidal BigTIFF / GeoTIFF (include/fcn_tiff.h,
# fcn-run --out FILE.tif) and fcn-detect --geojson, read back by
# tifffile, GDAL and OGR (tests/tiffmap_check.py, NumPy references):
#  - the sink's refusals (test_tiffmap errors: its own checks);
#  - maps test_tiffmap writes from a formula, in blocks that do not align
#    with the tiles: every level present, tiled, reduced; level 0 equal to
#    the formula (float32 exact, prob8 = rint(clamp(v)*255), argmax and its
#    confidence; uint16 classes past 256), each level the 2x2 mean (top-left
#    cell for argmax) of the one above;
#  - a 4000 x 4000 x 3 float map (192 MB) written with peak RSS under a
#    third of its size (under a sanitizer: 1000 x 1000, no RSS bound, said);
#  - fcn-run on GeoTIFFs made here with GDAL (EPSG:32633, PixelIsArea and
#    PixelIsPoint): level 0 equals the .npy map; GDAL's GeoTransform is the
#    input's composed with the geometry (cell (i, j) = the stride x stride
#    area centred on its window), computed here from the sidecar; the CRS;
#    no georeference for a PNG or a resized input; the CLI's refusals;
#  - fcn-detect --geojson: each polygon's corners are the JSON's box mapped
#    through the input's affine (or pixels), its properties, the crs member.
# Ends with "N passed, N failed".
gen=$1 run=$2 det=$3 tmp=$4/tiffmap.$$ model=$5 chk=$6 san=$7
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
# pycheck ARGS...: tiffmap_check.py's PASS/FAIL lines counted
pycheck() {
  "$py" "$chk" "$@" >"$tmp/chk" 2>&1
  rc=$?
  p=$(grep -c '^PASS' "$tmp/chk") f=$(grep -c '^FAIL' "$tmp/chk")
  pass=$((pass + p)) fail=$((fail + f))
  grep '^FAIL' "$tmp/chk" >&2
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then bad "$*: $(tail -3 "$tmp/chk")"; fi
}
# expect_fail NAME NEEDLE CMD...: exit status non-zero, one stderr line
# containing NEEDLE, no output file
expect_fail() {
  name=$1 needle=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$needle" "$tmp/err"; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}

# ---- the sink's refusals
"$gen" errors "$tmp" >"$tmp/errs" 2>&1
p=$(tail -1 "$tmp/errs" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
if [ -n "$p" ]; then
  pass=$((pass + ${p% *})) fail=$((fail + ${p#* }))
  grep FAIL "$tmp/errs" >&2
else bad "test_tiffmap errors: $(tail -3 "$tmp/errs")"; fi
if ls -A "$tmp" | grep -q '\.tmp$'; then bad "temporaries left: $(ls -A "$tmp")"; else ok; fi

# ---- maps from the formula: MODE H W C BH BW TILE COMP CLASSES
while read -r mode h w c bh bw tile comp cls; do
  f="$tmp/f-$mode-$h-$w-$c.tif"
  if "$gen" gen "$f" "$mode" "$h" "$w" "$c" "$bh" "$bw" "$tile" "$comp" "$cls" none \
       >/dev/null 2>"$tmp/err"; then ok
  else bad "gen $mode $h x $w: $(cat "$tmp/err")"; continue; fi
  pycheck map "$f" "$mode" "$h" "$w" "$c" "$cls" formula
done <<EOF
float 300 500 3 100 77 64 deflate all
float 97 61 2 97 61 16 none 1
prob8 300 500 4 100 77 64 deflate 3,1
prob8 33 270 2 5 300 16 none all
argmax 301 499 5 300 600 64 none all
argmax 130 70 300 50 50 16 deflate 299,3,100
EOF

# ---- a big map in bounded memory
if [ -z "$san" ] || [ "$san" = none ]; then big=4000; else big=1000; fi
f="$tmp/big.tif"
if "$gen" gen "$f" float $big $big 3 200 1000 256 deflate all none >"$tmp/rss" 2>"$tmp/err"; then
  ok
  rss=$(sed -n 's/^peak_rss_kb //p' "$tmp/rss")
  map_kb=$((big * big * 3 * 4 / 1024))
  if [ $big -lt 4000 ]; then
    echo "SKIPPED: the RSS bound (a sanitizer build: $san); map ${big}x$big"
  elif [ "$rss" -lt $((map_kb / 3)) ]; then ok
    echo "big map: ${big}x${big}x3 float32 ($map_kb KB), peak RSS $rss KB"
  else bad "big map: peak RSS $rss KB, not under a third of the map's $map_kb KB"; fi
  pycheck map "$f" float $big $big 3 all formula
  rm -f "$f"
else bad "big map: $(cat "$tmp/err")"; fi

# ---- fcn-run on GeoTIFFs
gt="500000,10,0,4600000,0,-10"
pycheck make-geotiff "$tmp/geo.tif" 300 400 32633 "$gt" AREA
pycheck make-geotiff "$tmp/geo-point.tif" 300 400 32633 "$gt" POINT
if "$run" "$model" "$tmp/geo.tif" --out "$tmp/m.npy" >/dev/null 2>"$tmp/err"; then ok
else bad "fcn-run --out .npy: $(cat "$tmp/err")"; fi
# expected SIDECAR: the map's GeoTransform from the input's ($gt) and the
# geometry in the .npy's sidecar (cell (0, 0)'s offsets)
expected() {
  "$py" - "$1" "$gt" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))["geometry"]
a = [float(v) for v in sys.argv[2].split(",")]
(sh, sw), (oh, ow), (rh, rw) = g["stride"], g["offset"], g["receptive_field"]
x0 = ow + (rw - sw) / 2.0   # the top-left corner of cell (0, 0), in pixels
y0 = oh + (rh - sh) / 2.0
print(",".join(repr(v) for v in [a[0] + a[1] * x0 + a[2] * y0, a[1] * sw,
      a[2] * sh, a[3] + a[4] * x0 + a[5] * y0, a[4] * sw, a[5] * sh]))
EOF
}
want=$(expected "$tmp/m.npy.json")
for input in geo geo-point; do
  for mode in float prob8 argmax; do
    f="$tmp/m-$input-$mode.tif"
    if "$run" "$model" "$tmp/$input.tif" --out "$f" --tiff-mode $mode \
         >"$tmp/out" 2>"$tmp/err" && grep -q "wrote.*georeferenced" "$tmp/out"; then ok
    else bad "fcn-run $input --tiff-mode $mode: $(cat "$tmp/err")"; continue; fi
    pycheck geo "$f" "$want" 32633
  done
  pycheck map "$tmp/m-$input-float.tif" float 0 0 0 all "$tmp/m.npy"
done
for mode in float prob8 argmax; do
  "$run" "$model" "$tmp/geo.tif" --out "$tmp/c-$mode.tif" --tiff-mode $mode \
    --classes Bag,0,Coat >/dev/null 2>"$tmp/err" || bad "--classes: $(cat "$tmp/err")"
  pycheck map "$tmp/c-$mode.tif" $mode 0 0 0 8,0,4 "$tmp/m.npy"
done
# a region of cells (streamed): its own origin
"$run" "$model" "$tmp/geo.tif" --cells 10,20,30,40 --out "$tmp/cc.npy" >/dev/null 2>&1 &&
"$run" "$model" "$tmp/geo.tif" --cells 10,20,30,40 --out "$tmp/cc.tif" >/dev/null 2>"$tmp/err" ||
  bad "--cells: $(cat "$tmp/err")"
pycheck geo "$tmp/cc.tif" "$(expected "$tmp/cc.npy.json")" 32633
pycheck map "$tmp/cc.tif" float 0 0 0 all "$tmp/cc.npy"
# a PNG (the map held in memory, fed to the sink in bands of rows)
png=$(dirname "$model")/example.png
"$run" "$model" "$png" --out "$tmp/p.npy" >/dev/null 2>&1 &&
"$run" "$model" "$png" --out "$tmp/p.tif" --tiff-mode prob8 >/dev/null 2>"$tmp/err" ||
  bad "a PNG to .tif: $(cat "$tmp/err")"
pycheck map "$tmp/p.tif" prob8 0 0 0 all "$tmp/p.npy"
# not georeferenced: a resized GeoTIFF
"$run" "$model" "$tmp/geo.tif" --resize 200x150 --out "$tmp/r.tif" >"$tmp/out" 2>&1
if [ -f "$tmp/r.tif" ] && ! grep -q georeferenced "$tmp/out" &&
   "$py" -c "
import sys; from osgeo import gdal
d = gdal.Open(sys.argv[1]); sys.exit(d.GetGeoTransform(can_return_null=True) is not None or d.GetProjection() != '')" "$tmp/r.tif"
then ok; else bad "a resized GeoTIFF's map is georeferenced"; fi
expect_fail "--classes without .tif" "need --out FILE.tif" \
  "$run" "$model" "$tmp/geo.tif" --classes 1
expect_fail "--tiff-mode bad" "float, prob8 or argmax" \
  "$run" "$model" "$tmp/geo.tif" --out "$tmp/x.tif" --tiff-mode int
expect_fail "--classes unknown" "Nope" \
  "$run" "$model" "$tmp/geo.tif" --out "$tmp/x.tif" --classes 1,Nope
expect_fail "--classes twice" "twice" \
  "$run" "$model" "$tmp/geo.tif" --out "$tmp/x.tif" --classes 1,1
expect_fail "--out .png" ".npy or .tif" \
  "$run" "$model" "$tmp/geo.tif" --out "$tmp/x.png"
if [ -e "$tmp/x.tif" ]; then bad "a refused run left x.tif"; else ok; fi

# ---- fcn-detect --geojson
demo=$(dirname "$model")/detect-demo.png
for epsg in 32633 4326; do
  if [ $epsg = 4326 ]; then g="14.5,0.0001,0,45.2,0,-0.0001"; else g="500000,0.5,0,4600000,0,-0.5"; fi
  "$py" -c "
import sys; from osgeo import gdal, osr
s = gdal.Open(sys.argv[1]); d = gdal.GetDriverByName('GTiff').CreateCopy(sys.argv[2], s)
d.SetGeoTransform([float(v) for v in sys.argv[3].split(',')])
r = osr.SpatialReference(); r.ImportFromEPSG(int(sys.argv[4])); d.SetProjection(r.ExportToWkt())
d = None" "$demo" "$tmp/demo-$epsg.tif" "$g" $epsg || bad "making demo-$epsg.tif"
  if "$det" "$model" "$tmp/demo-$epsg.tif" --json "$tmp/d-$epsg.json" \
       --geojson "$tmp/d-$epsg.geojson" -q 2>"$tmp/err"; then ok
  else bad "fcn-detect --geojson $epsg: $(cat "$tmp/err")"; fi
  pycheck geojson "$tmp/d-$epsg.geojson" "$tmp/d-$epsg.json" "$g" $epsg
done
"$det" "$model" "$tmp/demo-32633.tif" --json "$tmp/dp.json" --geojson - \
  --geojson-pixels -q >"$tmp/dp.geojson" 2>"$tmp/err" || bad "--geojson - --geojson-pixels: $(cat "$tmp/err")"
pycheck geojson "$tmp/dp.geojson" "$tmp/dp.json" pixel 0
"$det" "$model" "$demo" --json "$tmp/dn.json" --geojson "$tmp/dn.geojson" -q \
  2>"$tmp/err" || bad "--geojson on a PNG: $(cat "$tmp/err")"
pycheck geojson "$tmp/dn.geojson" "$tmp/dn.json" pixel 0
expect_fail "--geojson - without --json" "standard output" \
  "$det" "$model" "$demo" --geojson -
expect_fail "--geojson-pixels alone" "needs --geojson" \
  "$det" "$model" "$demo" --geojson-pixels

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
