#!/bin/sh
# The Python package (python/, pyproject.toml): pip-installs it from the
# source tree into a venv in the build directory (tests/python_venv.sh:
# offline, Debian's meson-python and numpy; kept, rebuilt when the sources
# change), then runs tests/python/ (test_fcn.py, test_region.py) with
# pytest against this build's fcn-run and fcn-detect. A sanitizer build skips (says so): the extension
# would need the sanitizer runtime preloaded into python.
# Ends with "N passed, N failed" (pytest's counts).
# The package is built with this build's optimization level, so that its
# library is compiled as fcn-run's is.
# usage: test_python.sh FCN_RUN FCN_DETECT BUILD_DIR SOURCE_ROOT SANITIZE OPT
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
run=$(abs "$1") detect=$(abs "$2") build=$3 src=$4 san=$5 opt=$6
if [ "$san" != none ]; then
  echo "skipped: the Python package in a -Db_sanitize=$san build" \
    "(python cannot load an extension built with the sanitizer)"
  echo "0 passed, 0 failed"
  exit 0
fi
venv=$build/python-venv
# the package into $venv (shared with test_dask.sh, installed once)
sh "$(dirname "$0")/python_venv.sh" "$build" "$src" "$opt" || {
  echo "0 passed, 1 failed"; exit 1; }
out=$build/python-pytest.txt
# run from the build dir, so that "import fcn" is the installed package
cd "$build" && FCN_RUN=$run FCN_DETECT=$detect FCN_SOURCE=$src \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -s --tb=short \
  "$src/tests/python" >"$out" 2>&1
rc=$?
cat "$out"
summary=$(tail -1 "$out")
count() { echo "$summary" | grep -o "[0-9][0-9]* $1" | sed 's/ .*//'; }
p=$(count passed) f=$(count failed) e=$(count error)
p=${p:-0} f=$((${f:-0} + ${e:-0}))
[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1   # pytest failed without counting
echo "$p passed, $f failed"
[ "$f" = 0 ]
