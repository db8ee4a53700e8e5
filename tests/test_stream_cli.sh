#!/bin/sh
# test_stream_cli.sh FCN_RUN MODEL IMAGE TMPDIR SIZE [quick]
# fcn-run's streamed inputs (docs/large-images.md) with the bundled model on
# a SIZE x SIZE tiled, JPEG-compressed BigTIFF the vips command makes from
# IMAGE (tiled): the run's peak RSS (/usr/bin/time -v) within the model
# file's size + --mem-limit + 100 MB; the map's shape from the documented
# geometry (stride 4, 28x28 window); a crop written by `vips crop`, run
# alone, equal (NumPy, exactly) to the same cells of the streamed map, and
# so is --cells of those cells on the whole file; --level 1 of a pyramid
# equal to the page vips wrote as that level (vips copy FILE[page=1]);
# refusals, each one line with exit status 1 and no file left. "quick" (a
# sanitizer build): no RSS bound (the sanitizers' own memory), SKIPPED
# said. Ends with "N passed, N failed".
run=$1 model=$2 image=$3 tmp=$4/stream-cli.$$ size=$5 quick=$6
py=/usr/bin/python3
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

# ---- the big file ----
vips replicate "$image" "$tmp/rep.v" $((size / 224 + 1)) $((size / 160 + 1)) &&
vips crop "$tmp/rep.v" \
  "$tmp/big.tif[tile,tile-width=256,tile-height=256,compression=jpeg,Q=85,bigtiff]" \
  0 0 "$size" "$size" && rm -f "$tmp/rep.v" ||
  { echo "vips could not make the image"; echo "0 passed, 1 failed"; exit 1; }
limit=16  # MB; the smaller quick image needs less for several blocks
[ "$quick" = quick ] && limit=2
/usr/bin/time -v "$run" "$model" "$tmp/big.tif" --out "$tmp/big.npy" \
  --mem-limit ${limit}M --json "$tmp/big.json" -q >"$tmp/o" 2>"$tmp/time"
rc=$?
name="streamed run of a ${size}x${size} JPEG BigTIFF: exit 0"
check [ $rc -eq 0 ]
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
bound=$(( ($(stat -c %s "$model") + (limit + 100) * 1048576) / 1024 ))
if [ "$quick" = quick ]; then
  echo "SKIPPED: the RSS bound (a sanitizer build: peak RSS ${rss} kB)"
else
  name="peak RSS ${rss} kB within model + ${limit} MB + 100 MB = ${bound} kB"
  check [ -n "$rss" ] && [ "$rss" -le "$bound" ]
  echo "peak RSS ${rss} kB (bound ${bound} kB), $(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time")"
fi

# ---- a crop and --cells against the same cells ----
r0=101 c0=37 rh=60 cw=90
vips crop "$tmp/big.tif" "$tmp/crop.tif[tile]" $((4 * c0)) $((4 * r0)) \
  $((4 * (cw - 1) + 28)) $((4 * (rh - 1) + 28))
"$run" "$model" "$tmp/crop.tif" --out "$tmp/crop.npy" -q >/dev/null 2>"$tmp/e"
name="the crop runs: $(cat "$tmp/e")"
check [ $? -eq 0 ]
"$run" "$model" "$tmp/big.tif" --cells $r0,$c0,$rh,$cw --out "$tmp/cells.npy" \
  --json "$tmp/cells.json" --mem-limit 1M -q >/dev/null 2>"$tmp/e"
name="--cells runs: $(cat "$tmp/e")"
check [ $? -eq 0 ]

# ---- --level ----
vips tiffsave "$tmp/crop.tif" "$tmp/pyr.tif" --tile --tile-width 64 \
  --tile-height 64 --pyramid --compression deflate &&
vips copy "$tmp/pyr.tif[page=1]" "$tmp/level1.png"
"$run" "$model" "$tmp/pyr.tif" --level 1 --out "$tmp/l1-stream.npy" -q \
  >/dev/null 2>"$tmp/e"
name="--level 1 runs: $(cat "$tmp/e")"
check [ $? -eq 0 ]
"$run" "$model" "$tmp/level1.png" --out "$tmp/l1-png.npy" -q >/dev/null
name="--level 1 equals the page vips wrote (a PNG run in memory)"
check cmp -s "$tmp/l1-stream.npy" "$tmp/l1-png.npy"

counts=$($py - "$tmp" "$size" $r0 $c0 $rh $cw <<'PY'
import json, sys, numpy as np
d, size, r0, c0, rh, cw = sys.argv[1], *map(int, sys.argv[2:])
p = f = 0
def check(c, what):
    global p, f
    if c: p += 1
    else: f += 1; print('FAIL:', what, file=sys.stderr)
big = np.load(d + '/big.npy', mmap_mode='r')
n = (size - 28) // 4 + 1
check(big.shape == (11, n, n), 'map shape %s, want %s' % (big.shape, (11, n, n)))
js = json.load(open(d + '/big.json'))
check(js.get('shape') == [11, n, n] and js.get('streamed', {}).get('blocks', 0) > 1,
      '--json: shape and several blocks: %s' % js.get('streamed'))
side = json.load(open(d + '/big.npy.json'))
check(side.get('shape') == [11, n, n] and side['geometry']['stride'] == [4, 4],
      'sidecar shape and geometry')
ref = np.array(big[:, r0:r0 + rh, c0:c0 + cw])
crop = np.load(d + '/crop.npy')
check(crop.shape == ref.shape and np.array_equal(crop, ref),
      'the crop run alone equals the same cells of the streamed map')
cells = np.load(d + '/cells.npy')
check(cells.shape == ref.shape and np.array_equal(cells, ref),
      '--cells equals the same cells of the streamed map')
cj = json.load(open(d + '/cells.npy.json'))
check(cj['geometry']['offset'] == [4 * r0, 4 * c0] and
      cj.get('streamed', {}).get('cells') == [r0, c0, rh, cw],
      '--cells: the sidecar gives the region and its offsets')
check(np.isfinite(big[:, ::97, ::89]).all(), 'finite scores')
print(p, f)
PY
)
pass=$((pass + ${counts% *})) fail=$((fail + ${counts#* }))
[ -n "$counts" ] || fail=$((fail + 1))

# ---- refusals ----
refused "--cells outside the map" "not within" "$tmp/x.npy" \
  "$run" "$model" "$tmp/crop.tif" --cells 0,0,61,1 --out "$tmp/x.npy" -q
refused "--level 1 of a PNG" "level 1" "$tmp/x.npy" \
  "$run" "$model" "$tmp/level1.png" --level 1 --out "$tmp/x.npy" -q
refused "--level 9 of a 2-level pyramid" "level" "$tmp/x.npy" \
  "$run" "$model" "$tmp/pyr.tif" --level 9 --out "$tmp/x.npy" -q
refused "--stream with --heatmap" "not with" "$tmp/x.png" \
  "$run" "$model" "$tmp/crop.tif" --stream --heatmap Bag "$tmp/x.png"
refused "--cells not four numbers" "R,C,H,W" "$tmp/x.npy" \
  "$run" "$model" "$tmp/crop.tif" --cells 1,2,3 --out "$tmp/x.npy"
refused "--mem-limit below one cell" "memory" "$tmp/x.npy" \
  "$run" "$model" "$tmp/crop.tif" --mem-limit 64K --out "$tmp/x.npy" -q
# a valid input (the model's 1 channel, C x H x W float32): refused for the
# option, not for its contents
$py -c "import numpy, sys; numpy.save(sys.argv[1], numpy.random.default_rng(0).random((1, 64, 64), numpy.float32))" "$tmp/in.npy"
refused "--cells of a .npy input" "a .npy input runs whole" "$tmp/x.npy" \
  "$run" "$model" "$tmp/in.npy" --cells 0,0,2,2 --out "$tmp/x.npy" -q

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
