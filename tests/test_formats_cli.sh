#!/bin/sh
# test_formats_cli.sh FCN_RUN MODEL IMAGE TMPDIR VIPS(1|0)
# fcn-run on several formats in one call, as a user runs it:
#   fcn-run model.bin a.jpg b.tif c.webp --json -
#   fcn-run model.bin a.jpg --heatmap CLASS h.png
# The images are made from IMAGE by PIL; the reference is PIL's decoding,
# preprocessed by NumPy as models/README.md gives the model's (gray, 1/255,
# mean 0.2860, std 0.3530), and run by fcn-run from a .npy: the maps of the
# images must equal it (1e-4). The shapes come from the documented geometry
# (stride 4, 28x28 window; class 10 is the background, which --json's top
# leaves out). Without libvips (VIPS=0) TIFF and WebP are
# refused, each with one line naming its path, and the JPEG still runs
# (stb's JPEG decoder differs from libjpeg's by a few levels: its map is
# not compared then).
run=$1 model=$2 image=$3 tmp=$4/formats-cli.$$ vips=$5
py=/usr/bin/python3
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp/maps"

$py - "$image" "$tmp" <<'PY' || { echo "PIL could not make the images"; echo "0 passed, 1 failed"; exit 1; }
import sys, numpy as np
from PIL import Image
src, d = sys.argv[1], sys.argv[2]
im = Image.open(src).convert('L')
im.save(d + '/a.jpg', quality=90)
im.save(d + '/b.tif')
im.save(d + '/c.webp', lossless=True)
for n in ('a.jpg', 'b.tif', 'c.webp'):
    x = np.asarray(Image.open(d + '/' + n).convert('L'), dtype=np.float32)
    x = (x * np.float32(1 / 255) - np.float32(0.2860)) / np.float32(0.3530)
    np.save(d + '/ref-' + n.split('.')[0] + '.npy', x[None].astype(np.float32))
PY

# ---- several formats, --json - ----
"$run" "$model" "$tmp/a.jpg" "$tmp/b.tif" "$tmp/c.webp" --json - \
  --out "$tmp/maps" >"$tmp/json" 2>"$tmp/err"; rc=$?
for n in a b c; do
  "$run" "$model" "$tmp/ref-$n.npy" --out "$tmp/ref-$n-out.npy" --quiet \
    >/dev/null 2>&1 || bad "fcn-run on the reference array ref-$n.npy"
done
if [ "$vips" = 1 ]; then
  name="a.jpg b.tif c.webp --json -: exit 0, nothing on stderr"
  check [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]
else
  name="without libvips: exit 1, one line each for b.tif and c.webp"
  check [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 2 ] &&
    grep -q "b.tif" "$tmp/err" && grep -q "c.webp" "$tmp/err"
fi
counts=$($py - "$tmp" "$vips" <<'PY'
import json, sys, numpy as np
d, vips = sys.argv[1], sys.argv[2] == '1'
p = f = 0
def check(c, what):
    global p, f
    if c: p += 1
    else: f += 1; print('FAIL:', what, file=sys.stderr)
try:
    js = json.load(open(d + '/json'))
except ValueError as e:
    js = None
check(isinstance(js, list) and len(js) == 3, '--json -: an array of three')
for i, n in enumerate('abc'):
    o = js[i] if js and len(js) == 3 else {}
    ext = {'a': 'jpg', 'b': 'tif', 'c': 'webp'}[n]
    check(o.get('input', '').endswith(n + '.' + ext), n + ': input named')
    if n != 'a' and not vips:
        check('error' in o, n + ': an error entry without libvips')
        continue
    ref = np.load(d + '/ref-' + n + '.npy')
    h, w = ref.shape[1:]
    want = [11, (h - 28) // 4 + 1, (w - 28) // 4 + 1]
    check(o.get('shape') == want, '%s: shape %s, want %s' % (n, o.get('shape'), want))
    check(o.get('geometry', {}).get('stride') == [4, 4] and
          o['geometry'].get('receptive_field') == [28, 28], n + ': geometry')
    try:
        a = np.load(d + '/maps/' + n + '.npy')
        r = np.load(d + '/ref-' + n + '-out.npy')
        err = float(abs(a - r).max()) if a.shape == r.shape else 1e9
    except OSError:
        err = 1e9
    if vips or n != 'a':  # stb's JPEG decoder is not libjpeg's (PIL's)
        check(err < 1e-4, '%s: map against PIL + NumPy, max |diff| %g' % (n, err))
    top = o.get('top', [{}])[0]
    cls = int(np.argmax(r[:10].max(axis=(1, 2))))  # 10: background
    check(top.get('class') == cls, '%s: top class %s, NumPy says %d' % (n, top.get('class'), cls))
print('%d %d' % (p, f))
PY
)
pass=$((pass + ${counts% *})) fail=$((fail + ${counts#* }))

# ---- --heatmap CLASS FILE.png on the JPEG ----
"$run" "$model" "$tmp/a.jpg" --heatmap Trouser "$tmp/h.png" --quiet >/dev/null 2>"$tmp/err"
name="--heatmap Trouser h.png: exit 0"; check [ $? -eq 0 ]
name="--heatmap: PIL reads an RGB picture at least the image's size, not flat"
check $py -c "
import sys; from PIL import Image; import numpy as np
h = Image.open(sys.argv[1]); s = Image.open(sys.argv[2]).size
a = np.asarray(h.convert('RGB'))
sys.exit(0 if h.mode == 'RGB' and h.size[0] >= s[0] and h.size[1] >= s[1] and a.std() > 10 else 1)" "$tmp/h.png" "$tmp/a.jpg"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
