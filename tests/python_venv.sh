#!/bin/sh
# The Python package fcn installed into BUILD/python-venv (tests that use
# it: test_python.sh, test_dask.sh): pip-installs it from the source tree
# (offline: --no-index, --no-build-isolation, Debian's meson-python and
# numpy; meson-python's build directory kept in BUILD/python-build, so a
# rerun rebuilds only what changed) with the build's optimization level.
# Under a lock, so that tests running at once install it once: a caller
# finding it installed since the sources last changed (BUILD/python-venv.
# stamp newer than python/, src/, include/ and the build files) uses it.
# Prints one line; exit status 0 when the venv's python imports fcn.
# usage: python_venv.sh BUILD_DIR SOURCE_ROOT OPT   (sourced or run)
build=$1 src=$2 opt=$3
venv=$build/python-venv
log=$build/python-pip.log
stamp=$build/python-venv.stamp
(
  flock 9
  if [ -f "$stamp" ] && [ -x "$venv/bin/python" ] &&
     [ -z "$(find "$src/python" "$src/src" "$src/include" "$src/meson.build" \
             "$src/meson_options.txt" "$src/pyproject.toml" -newer "$stamp" \
             -print 2>/dev/null | head -1)" ]; then
    echo "python venv: $venv (installed, up to date)"
    exit 0
  fi
  rm -f "$stamp"
  [ -x "$venv/bin/python" ] ||
    /usr/bin/python3 -m venv --system-site-packages "$venv" || {
    echo "cannot create $venv"; exit 1; }
  t0=$(date +%s)
  # PIP_FIND_LINKS unset: nothing but the checkout and the system's packages
  if ! (cd "$src" && env -u PIP_FIND_LINKS PIP_NO_CACHE_DIR=1 \
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --no-index \
        --no-build-isolation --no-deps --force-reinstall \
        --config-settings builddir="$build/python-build" \
        --config-settings setup-args="-Doptimization=$opt" .) >"$log" 2>&1
  then
    tail -40 "$log"
    echo "pip install failed (log: $log)"
    exit 1
  fi
  touch "$stamp"
  echo "pip install: $(($(date +%s) - t0)) s (log: $log)"
) 9>"$build/python-venv.lock"
