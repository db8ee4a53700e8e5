#!/bin/sh
# The Python package (python/, pyproject.toml): pip-installs it from the
# source tree into a venv in the build directory (offline: --no-index,
# --no-build-isolation, Debian's meson-python and numpy; meson-python's
# build directory is kept there too, so a rerun rebuilds only what changed),
# then runs tests/python/test_fcn.py with pytest against this build's
# fcn-run and fcn-detect. A sanitizer build skips (says so): the extension
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
log=$build/python-pip.log
[ -x "$venv/bin/python" ] ||
  /usr/bin/python3 -m venv --system-site-packages "$venv" || {
  echo "cannot create $venv"; echo "0 passed, 1 failed"; exit 1; }
t0=$(date +%s)
# PIP_FIND_LINKS unset: nothing but the checkout and the system's packages
if ! (cd "$src" && env -u PIP_FIND_LINKS PIP_NO_CACHE_DIR=1 \
      PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --no-index \
      --no-build-isolation --no-deps --force-reinstall \
      --config-settings builddir="$build/python-build" \
      --config-settings setup-args="-Doptimization=$opt" .) >"$log" 2>&1; then
  tail -40 "$log"
  echo "pip install failed (log: $log)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "pip install: $(($(date +%s) - t0)) s (log: $log)"
out=$build/python-pytest.txt
# run from the build dir, so that "import fcn" is the installed package
cd "$build" && FCN_RUN=$run FCN_DETECT=$detect FCN_SOURCE=$src \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -s --tb=short \
  "$src/tests/python/test_fcn.py" >"$out" 2>&1
rc=$?
cat "$out"
summary=$(tail -1 "$out")
count() { echo "$summary" | grep -o "[0-9][0-9]* $1" | sed 's/ .*//'; }
p=$(count passed) f=$(count failed) e=$(count error)
p=${p:-0} f=$((${f:-0} + ${e:-0}))
[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1   # pytest failed without counting
echo "$p passed, $f failed"
[ "$f" = 0 ]
