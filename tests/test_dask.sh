#!/bin/sh
# test_dask.sh FCN_RUN FCN_MERGE BUILD_DIR SOURCE_ROOT SANITIZE OPT
# tools/fcn-dask (docs/scale-out.md, "Dask") on a LocalCluster of 2 worker
# processes (1 thread each, localhost) with the bundled model on a 600 x 800
# gray PNG (tests/shard_image.py), against a single `fcn-run MODEL IMG --out`:
# - in-process (the package fcn, installed by tests/python_venv.sh): the
#   merged map equal bit for bit (cmp of the .npy, NumPy array_equal), each
#   band byte for byte fcn-run --shard's, the job equal to fcn-run --plan's,
#   the model loaded once per worker; fcn-merge --check and fcn-run's resume
#   accept the parts;
# - through fcn-run: --cli, and the fallback of a Python without fcn;
# - resume: a second run skips every part; a band corrupted: fcn-merge
#   refuses it, a rerun computes that part alone again, merged equal;
# - --stride-divisor 2 in-process, where fcn has it;
# - refusals: another job in DIR, more parts than cell rows, a missing
#   model: a one-line error, exit status 1.
# A sanitizer build runs the CLI paths only (the package cannot load
# there), saying so. Skipped (0 passed, 0 failed) where dask and
# distributed do not import, saying so. Ends with "N passed, N failed".
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
run=$(abs "$1") merge=$(abs "$2") build=$3 src=$4 san=$5 opt=$6
sys=/usr/bin/python3 dask=$src/tools/fcn-dask model=$src/models/fashion.bin
. "$(dirname "$0")/check.sh"
if ! $sys -c "import dask, distributed" 2>/dev/null; then
  echo "skipped: dask or distributed does not import in $sys" \
    "(Debian's python3-dask, python3-distributed; tools/install-deps)"
  echo "0 passed, 0 failed"
  exit 0
fi
tmp=$(abs "$build")/dask.$$
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp" || exit 1
$sys "$src/tests/shard_image.py" "$src" img.png 600 800 &&
  "$run" "$model" img.png --out single.npy -q >/dev/null ||
  { echo "cannot make the image or its single run"; echo "0 passed, 1 failed"
    exit 1; }
venv=
if [ "$san" != none ]; then
  echo "SKIPPED: the in-process path in a -Db_sanitize=$san build (the" \
    "package cannot load there); the CLI paths run"
elif sh "$src/tests/python_venv.sh" "$build" "$src" "$opt"; then
  venv=$build/python-venv/bin/python
else
  bad "the package fcn installs into a venv"
fi

# same NAME A.npy: A equals single.npy (cmp, and NumPy array_equal)
same() {
  name="$1: cmp with the single run"; check cmp -s "$2" single.npy
  name="$1: array_equal with the single run"
  check $sys -c "import numpy as n, sys
a, b = n.load(sys.argv[1]), n.load('single.npy')
sys.exit(not (a.dtype == b.dtype and n.array_equal(a, b)))" "$2"
}
# ndask NAME HOW OUT: OUT's part lines, 4 of them, all HOW
ndask() {
  name="$1: 4 parts $2"
  check test "$(grep -c "^fcn-dask: part ./4: .*, $2, " "$3")" = 4
}
t0=$(date +%s)
N=4
drive() { "$@" --parts $N --workers 2 --fcn-run "$run" --fcn-merge "$merge"; }
# runs NAME HOW DIR TAG PYTHON [OPTIONS]: fcn-dask into DIR, printing
# TAG.out, merged into TAG.npy: exit 0, 4 parts HOW (unless HOW is -), the
# merged map the single run's
runs() {
  what=$1 how=$2 dir=$3 tag=$4 python=$5; shift 5
  drive $python "$dask" "$model" img.png --out-dir "$dir" \
    --merge "$tag.npy" "$@" >"$tag.out" 2>&1
  rc=$?
  name="$what: exit 0 ($(tail -1 "$tag.out"))"; check test $rc = 0
  [ "$how" = - ] || ndask "$what" "$how" "$tag.out"
  same "$what" "$tag.npy"
}

# ---- the CLI paths: --cli, and a Python without the package ----
runs "--cli" cli cli cli "${venv:-$sys}" --cli
if $sys -c "import fcn" 2>/dev/null; then
  echo "SKIPPED: the fallback test ($sys imports a package fcn)"
else
  runs "fallback (no package)" cli fb fb $sys
fi

# ---- in-process ----
if [ -n "$venv" ]; then
  runs "in-process" in-process inp inp $venv
  name="in-process: a band byte for byte fcn-run --shard's"
  for i in 0 1 2 3; do
    check cmp -s inp/img.part-$i-of-4.npy cli/img.part-$i-of-4.npy
  done
  name="in-process: at most 2 worker processes, both used, the model"
  name="$name loaded once in each"
  check $sys -c "import re, sys
r = re.findall(r'\(pid (\d+) on .*loaded there: (\d+)\)',
               open('inp.out').read())
sys.exit(not (len(r) == 4 and len({p for p, _ in r}) == 2 and
              all(k == '1' for _, k in r)))"
  "$run" "$model" img.png --plan $N >plan.json
  name="in-process: the job equals fcn-run --plan's"
  check $sys -c "import json, sys
j = json.load(open('plan.json'))['job']
sys.exit(not all(json.load(open('inp/part-%d-of-4.json' % i))['job'] == j
                 for i in range(4)))"
  name="fcn-merge --check accepts the in-process parts"
  check "$merge" --check inp
  "$run" "$model" img.png --shard 2/4 --out-dir inp >/dev/null 2>resume.err
  name="fcn-run's resume skips an in-process part ($(cat resume.err))"
  check grep -q "0 of 1 unit run, 1 done before" resume.err

  # resume: every part skipped
  runs "rerun" skipped inp again $venv

  # a corrupted band: fcn-merge refuses it; a rerun redoes that part alone
  $sys -c "f = open('inp/img.part-2-of-4.npy', 'r+b'); f.seek(-5, 2)
b = f.read(1); f.seek(-5, 2); f.write(bytes([b[0] ^ 1]))"
  "$merge" inp bad.npy >/dev/null 2>merge.err
  rc=$?
  name="fcn-merge refuses a corrupted band: rc=$rc, $(cat merge.err)"
  check test $rc != 0 -a ! -e bad.npy
  name="its message names the band"; check grep -q "img.part-2-of-4" merge.err
  runs "rerun after the corruption" - inp fix $venv
  name="rerun after the corruption: part 2 computed, the others skipped"
  check test "$(grep -c ', skipped, ' fix.out)" = 3 -a \
    "$(grep -c '^fcn-dask: part 2/4: .*, in-process, ' fix.out)" = 1
fi

# ---- --stride-divisor 2 in-process (where fcn-run and the package have
# it): the merged map the single run's ----
if [ -n "$venv" ] && "$run" --help | grep -q -- --stride-divisor &&
   $venv -c "import fcn, sys; fcn.Model(sys.argv[1], stride_divisor=2)" \
     "$model" 2>/dev/null; then
  "$run" "$model" img.png --stride-divisor 2 --out sd1.npy -q >/dev/null
  "$venv" "$dask" "$model" img.png --parts 2 --workers 2 --out-dir sd \
    --stride-divisor 2 --fcn-run "$run" --fcn-merge "$merge" \
    --merge sd.npy >sd.out 2>&1
  rc=$?
  name="--stride-divisor 2 in-process: exit 0 ($(tail -1 sd.out))"
  check test $rc = 0
  name="--stride-divisor 2 in-process: the single run's map"
  check cmp -s sd.npy sd1.npy
else
  echo "SKIPPED: --stride-divisor (not in this fcn-run or package)"
fi

# ---- refusals: exit status 1, the reason on stderr (one line per part
# that failed, then a count), no traceback ----
py=${venv:-$sys}
refused() {  # NAME NEEDLE CMD...
  what=$1 needle=$2; shift 2
  "$@" >r.out 2>r.err; rc=$?
  name="$what: rc=$rc, $(cat r.err)"
  check test $rc = 1 -a -s r.err
  name="$what: says '$needle', no traceback"
  check grep -q -- "$needle" r.err
  check test "$(grep -c Traceback r.err)" = 0
}
refused "another job in DIR" "another job" \
  drive $py "$dask" "$model" img.png --out-dir cli --cells 0,0,40,40 --cli
refused "more parts than cell rows" "at most 144 parts" \
  $py "$dask" "$model" img.png --out-dir many --parts 200 --workers 1 \
  --fcn-run "$run"
refused "a missing model" "missing.bin" \
  $py "$dask" missing.bin img.png --out-dir miss --parts 2 --fcn-run "$run"
echo "test dask: $(($(date +%s) - t0)) s of Dask runs"
cd / && rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
