#!/bin/sh
# test_cli_conv.sh FCN_RUN FCN_DETECT FCN_BENCH FIXTURES SRCDIR TMPDIR
# The command-line conventions of docs/cli.md: getopt_long (--opt=value,
# one-line errors for a missing value or an unknown option, --help,
# --version), '-' for standard input and output, several inputs and --list,
# --json, the geometry sidecar, range checks, --quiet and forced progress.
# Expected values come from elsewhere: the fixtures' PyTorch score maps,
# models/README.md's geometry of the bundled model (stride 4, offset 0,
# 28x28 window, 1/255 then mean 0.2860, std 0.3530), models/example.json's
# items, include/fcn.h's version, NumPy's reading of the files.
run=$1 det=$2 bench=$3 fx=$4 src=$5 tmp=$6/cli-conv.$$
py=/usr/bin/python3
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"

# expect_fail NAME RC NEEDLE CMD...: exit status RC, exactly one stderr
# line, containing NEEDLE; nothing on stdout.
expect_fail() {
  name=$1 want=$2 needle=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -eq "$want" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/err" && [ ! -s "$tmp/out" ]; then ok
  else bad "$name: rc=$rc (want $want), stderr: $(cat "$tmp/err")"; fi
}

model=$src/models/fashion.bin image=$src/models/example.png
small=$fx/cf_dense2/model.bin npy=$fx/cf_dense2/in_1.npy ref=$fx/cf_dense2/out_1.npy
cp "$image" "$tmp/a.png" && cp "$image" "$tmp/c.png"
printf 'not an image\n' >"$tmp/bad.png"

# ---- --version, --help ----
ver=$(sed -n 's/^#define FCN_VERSION_STRING "\(.*\)"/\1/p' "$src/include/fcn.h")
for p in "$run:fcn-run" "$det:fcn-detect" "$bench:fcn-bench"; do
  exe=${p%:*} nm=${p##*:}
  name="$nm --version"; check [ "$("$exe" --version)" = "$nm $ver" ]
  name="$nm --help"; check sh -c "'$exe' --help | grep -q 'usage: $nm'"
  expect_fail "$nm unknown option" 2 "unknown option '--bogus'" "$exe" "$model" "$image" --bogus
  expect_fail "$nm missing value" 2 "option '--threads' needs a value" "$exe" "$model" "$image" --threads
done
expect_fail "flag with a value" 2 "option '--layers' takes no value" "$run" "$model" "$image" --layers=1
expect_fail "--heatmap needs two" 2 "needs a CLASS and a FILE" "$run" "$model" "$image" --heatmap 1

# ---- --opt=value is --opt value ----
"$run" "$small" "$npy" --top=2 --threads=1 | grep -v '^time' >"$tmp/eq" &&
  "$run" "$small" "$npy" --top 2 --threads 1 | grep -v '^time' >"$tmp/sp"
name="--opt=value"; check cmp -s "$tmp/eq" "$tmp/sp"
name="--top=2 took effect"; check grep -q "^top 2 per cell" "$tmp/eq"

# ---- standard input ----
"$run" "$small" - --out "$tmp/stdin.npy" <"$npy" >/dev/null 2>"$tmp/err"
name="- for a .npy: the PyTorch map"
check $py -c "import numpy as n,sys; a=n.load(sys.argv[1]); b=n.load(sys.argv[2]); sys.exit(0 if a.shape==b.shape and abs(a-b).max()<1e-4 else 1)" "$tmp/stdin.npy" "$ref"
"$run" "$model" - --out - <"$image" >"$tmp/img.npy" 2>"$tmp/err"
"$run" "$model" "$image" --out "$tmp/file.npy" >/dev/null 2>&1
# rows (160-28)/4+1 = 34, columns (224-28)/4+1 = 50 (models/README.md)
name="- for an image, --out -: shape from the documented geometry, same as from the file"
check $py -c "import numpy as n,sys; a=n.load(sys.argv[1]); b=n.load(sys.argv[2]); sys.exit(0 if a.shape==(11,34,50) and (a==b).all() else 1)" "$tmp/img.npy" "$tmp/file.npy"
name="--out -: the example's items at their cells (models/example.json)"
check $py -c "
import json,numpy as n,sys
a=n.load(sys.argv[1]); t=json.load(open(sys.argv[2]))
sys.exit(0 if all(a[:, it['cell'][0], it['cell'][1]].argmax()==it['class'] for it in t['items']) else 1)" "$tmp/img.npy" "$src/models/example.json"
cat "$model" | "$run" - "$npy" >/dev/null 2>"$tmp/err"
name="- for the model, wrong channels reported"; check grep -q "channels" "$tmp/err"
expect_fail "- twice" 1 "standard input" "$run" - - <"$image"
expect_fail "- and --list -" 1 "can be read once only" "$run" "$model" - --list - <"$image"
expect_fail "- unreadable" 1 "^fcn-run: -: not a readable image" "$run" "$model" - --out "$tmp/x.npy" <"$tmp/bad.png"
name="nothing left in TMPDIR"; check sh -c "! ls -A '$tmp' | grep -q fcn-stdin"
"$det" "$model" - --json "$tmp/d1.json" <"$image" 2>/dev/null &&
  "$det" "$model" "$image" --json "$tmp/d2.json" 2>/dev/null
name="fcn-detect - : the same detections"
check $py -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(not (a['detections']==b['detections'] and len(a['detections'])>=6))" "$tmp/d1.json" "$tmp/d2.json"

# ---- several inputs, one bad; --list ----
mkdir "$tmp/o"
"$run" "$model" "$tmp/a.png" "$tmp/bad.png" "$tmp/c.png" --out "$tmp/o" \
  --json "$tmp/all.json" >/dev/null 2>"$tmp/err"; rc=$?
name="several, one bad: exit 1"; check [ $rc -eq 1 ]
name="several, one bad: one line naming it"
check sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^fcn-run: $tmp/bad.png: not a readable image' '$tmp/err'"
name="several, one bad: the others written with sidecars"
check sh -c "[ -s '$tmp/o/a.npy' ] && [ -s '$tmp/o/c.npy' ] && [ -s '$tmp/o/a.npy.json' ] && [ ! -e '$tmp/o/bad.npy' ]"
name="several: the JSON array, the error in place"
check $py -c "
import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(not (len(d)==3 and 'error' in d[1] and d[1]['input'].endswith('bad.png') and d[2]['out'].endswith('o/c.npy')))" "$tmp/all.json"
expect_fail "several, --out a file" 1 "several inputs" "$run" "$model" "$tmp/a.png" "$tmp/c.png" --out "$tmp/x.npy"
expect_fail "several, --out -" 1 "one input only" "$run" "$model" "$tmp/a.png" "$tmp/c.png" --out -
printf '# inputs\n%s\n\n  %s\n' "$tmp/a.png" "$tmp/c.png" >"$tmp/list"
"$run" "$model" --list "$tmp/list" --out "$tmp/o/{}-list.npy" >"$tmp/out" 2>&1
name="--list: both written"; check sh -c "[ -s '$tmp/o/a-list.npy' ] && [ -s '$tmp/o/c-list.npy.json' ]"
name="--list -"; check sh -c "'$run' '$model' --list - --json - <'$tmp/list' | $py -c 'import json,sys; sys.exit(len(json.load(sys.stdin))!=2)'"
expect_fail "--list missing" 1 "--list $tmp/none" "$run" "$model" --list "$tmp/none"

# ---- --json - and the sidecar against the .npy and models/README.md ----
"$run" "$model" "$image" --json - --out "$tmp/j.npy" >"$tmp/j.json" 2>"$tmp/err"
# (class 10 is the background, which the top classes leave out)
name="--json -: shape, geometry, top class against the .npy"
check $py -c "
import json,numpy as n,sys
d=json.load(open(sys.argv[1])); a=n.load(sys.argv[2])
g=d['geometry']
c=int(a[:10].reshape(10,-1).max(1).argmax()); cell=list(n.unravel_index(a[c].argmax(), a[c].shape))
ok=(tuple(d['shape'])==a.shape and g['stride']==[4,4] and g['offset']==[0,0] and g['receptive_field']==[28,28]
    and d['top'][0]['class']==c and d['top'][0]['cell']==cell and d['input']==sys.argv[3]
    and d['top'][0]['window']==[4*cell[1],4*cell[0],28,28] and all(k in d['timings'] for k in ('load','decode','run')))
sys.exit(0 if ok else 1)" "$tmp/j.json" "$tmp/j.npy" "$image"
name="the sidecar: shape, geometry, labels, preprocessing"
check $py -c "
import json,numpy as n,sys
d=json.load(open(sys.argv[2] + '.json')); a=n.load(sys.argv[2]); p=d['preprocessing']
ok=(tuple(d['shape'])==a.shape and d['geometry']['stride']==[4,4] and d['geometry']['receptive_field']==[28,28]
    and len(d['labels'])==11 and d['labels'][1]=='Trouser' and d['model']['path']==sys.argv[3]
    and p['color']=='gray' and abs(p['scale']-1/255)<1e-7 and abs(p['mean'][0]-0.286)<1e-6 and abs(p['std'][0]-0.353)<1e-6)
sys.exit(0 if ok else 1)" "$tmp/j.json" "$tmp/j.npy" "$model"
expect_fail "--out - and --json -" 1 "cannot both" "$run" "$model" "$image" --out - --json -
expect_fail "--json is the sidecar" 1 "already another output" "$run" "$model" "$image" --out "$tmp/k.npy" --json "$tmp/k.npy.json"

# ---- the message names the user's path ----
expect_fail "--out in a missing directory" 1 "missing_dir/x.npy: directory '.*missing_dir' does not exist" \
  "$run" "$model" "$image" --out "$tmp/missing_dir/x.npy"
name="... not the temporary"; check sh -c "! grep -q '\.tmp' '$tmp/err'"

# ---- range checks: one line naming the option and the range ----
expect_fail "--threads -1" 1 "--threads needs a number from 0" "$run" "$model" "$image" --threads -1
expect_fail "--threads 5000" 1 "--threads needs a number from 0 (all cores) to 1024" "$run" "$model" "$image" --threads 5000
expect_fail "--top 0" 1 "--top needs a number from 1 to 1000" "$run" "$model" "$image" --top 0
expect_fail "--tile 0" 1 "--tile needs a number of cells from 1" "$run" "$model" "$image" --tile 0
expect_fail "--mem-limit 1K" 1 "--mem-limit needs a size from 64K to 1T" "$run" "$model" "$image" --mem-limit 1K
expect_fail "--resize 0x5" 1 "--resize needs WxH, each from 1 to 65536" "$run" "$model" "$image" --resize 0x5
expect_fail "--range 1:0" 1 "--range needs auto, 0:1 or LO:HI" "$run" "$model" "$image" --range 1:0
expect_fail "--cmap" 1 "--cmap 'nope': unknown colour map" "$run" "$model" "$image" --cmap nope
expect_fail "detect --threshold 2 on a softmax" 1 "--threshold 2: the model's scores are softmax probabilities" \
  "$det" "$model" "$image" --threshold 2
expect_fail "detect --iou 2" 1 "--iou needs a number from 0 to 1" "$det" "$model" "$image" --iou 2
expect_fail "detect --mem-limit 0" 1 "--mem-limit needs a size from 64K" "$det" "$model" "$image" --mem-limit 0
expect_fail "bench --repeat 0" 1 "--repeat needs a number from 1 to 100000" "$bench" "$model" --repeat 0
expect_fail "bench --size" 1 "--size needs WxH, each from 1 to 65536" "$bench" "$model" --size 99999x2
"$run" "$model" "$image" --threads 0 >/dev/null 2>&1
name="--threads 0: all cores"; check [ $? -eq 0 ]

# ---- preprocessing overrides ----
# the image preprocessed by PIL and NumPy with --mean 0.5 --std 0.25 (and
# the model's 1/255), run as a .npy: the same map as fcn's own
$py -c "
import numpy as n,sys; from PIL import Image
x=n.asarray(Image.open(sys.argv[1]).convert('L'),dtype=n.float32)
n.save(sys.argv[2], ((x*n.float32(1/255)-0.5)/0.25)[None].astype('<f4'))" "$image" "$tmp/prep.npy"
"$run" "$model" "$tmp/prep.npy" --out "$tmp/prep-ref.npy" >/dev/null 2>&1
"$run" "$model" "$image" --mean 0.5 --std 0.25 --out "$tmp/prep-run.npy" >/dev/null 2>&1
name="--mean --std: as NumPy's preprocessing"
check $py -c "import numpy as n,sys; a=n.load(sys.argv[1]); b=n.load(sys.argv[2]); sys.exit(0 if a.shape==b.shape and abs(a-b).max()<1e-4 else 1)" "$tmp/prep-run.npy" "$tmp/prep-ref.npy"
name="--mean in the sidecar"; check grep -q '"mean": \[0.5\], "std": \[0.25\]' "$tmp/prep-run.npy.json"
# --fit: crop 100x100 -> 19x19 cells; shorter: 160 -> 100, 224 -> int(100*224/160) = 140
"$run" "$model" "$image" --resize 100x100 --fit crop --json - >"$tmp/fit.json" 2>&1
name="--fit crop"; check $py -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['width'],d['height'],d['shape'])==(100,100,[11,19,19]) else 1)" "$tmp/fit.json"
"$run" "$model" "$image" --resize 100x100 --fit shorter --json - >"$tmp/fit.json" 2>&1
name="--fit shorter"; check $py -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['width'],d['height'],d['shape'])==(140,100,[11,19,29]) else 1)" "$tmp/fit.json"
expect_fail "--fit without --resize" 1 "--fit needs --resize" "$run" "$model" "$image" --fit crop
expect_fail "--fit bad" 1 "--fit needs stretch, crop or shorter" "$run" "$model" "$image" --fit zoom
expect_fail "--bgr on a gray model" 1 "expected gray" "$run" "$model" "$image" --bgr
expect_fail "--mean too few" 1 "--mean: 1 value given, the model's input has more channels" "$run" "$small" "$npy" --mean 0.5
expect_fail "--std too many" 1 "--std: 2 values given for a 1-channel model" "$det" "$model" "$image" --std 0.3,1
expect_fail "--std 0" 1 "--std needs one number > 0" "$run" "$model" "$image" --std 0
expect_fail "--scale 0" 1 "--scale needs a number from -1e6 to 1e6, not 0" "$det" "$model" "$image" --scale 0

# ---- heat maps ----
"$run" "$model" "$image" --heatmap Trouser "$tmp/h.png" --cmap magma --range 0:1 >"$tmp/out" 2>&1
name="--heatmap: a PNG"; check sh -c "head -c 8 '$tmp/h.png' | od -An -c | grep -q 'P   N   G'"
"$run" "$model" "$tmp/a.png" "$tmp/c.png" --heatmap 1 "$tmp/o" >/dev/null 2>&1
name="--heatmap, several: DIR/NAME-heatmap.png"; check sh -c "[ -s '$tmp/o/a-heatmap.png' ] && [ -s '$tmp/o/c-heatmap.png' ]"

# ---- progress: forced, format; --quiet ----
FCN_PROGRESS=1 "$run" "$model" "$image" --tile 8 >/dev/null 2>"$tmp/err"
# 34 x 50 cells in tiles of 8: ceil(34/8) * ceil(50/8) = 5 * 7 = 35
name="FCN_PROGRESS=1: tiles done of total and an ETA"
check sh -c "grep -q '^fcn-run: \[1/1\] .*example.png: tile 1/35, .* s, ETA .* s$' '$tmp/err' && tail -n 1 '$tmp/err' | grep -q 'tile 35/35,'"
"$run" "$model" "$image" --tile 8 --progress >/dev/null 2>"$tmp/err2"
name="--progress: the same lines"; check [ "$(grep -c 'tile [0-9]*/35' "$tmp/err2")" -eq 35 ]
"$run" "$model" "$image" --tile 8 >/dev/null 2>"$tmp/err"
name="no terminal: no progress"; check [ ! -s "$tmp/err" ]
FCN_PROGRESS=1 "$run" "$small" "$npy" --resize 30x30 --quiet >/dev/null 2>"$tmp/err"
name="--quiet: no progress, no warning"; check [ ! -s "$tmp/err" ]
"$run" "$small" "$npy" --resize 30x30 >/dev/null 2>"$tmp/err"
name="... the warning without it"; check grep -q "resize ignored" "$tmp/err"
FCN_PROGRESS=1 "$det" "$model" "$image" --quiet >/dev/null 2>"$tmp/err"
name="fcn-detect --quiet"; check [ ! -s "$tmp/err" ]

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
