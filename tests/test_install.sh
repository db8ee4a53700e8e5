#!/bin/sh
# test_install.sh MESON BUILD_ROOT SOURCE_ROOT VERSION FCN_RUN MODEL IMAGE TMPDIR SANITIZE
# The installed library as a user sees it: `meson install --destdir` of this
# build (no rebuild), then README.md's C example (between its fcn-example
# markers) built with pkg-config against the installed libfcn.so and
# libfcn.a, run on MODEL and IMAGE, and its score map compared bit for bit
# (NumPy) with `fcn-run --out` of the same build; libfcn.so's soname, its
# exports (the headers' fcn_* functions, nothing else), its dependencies
# (no OpenBLAS: opened by full path when a model needs it) and the version
# that fcn_version(), fcn.pc and the project agree on.
meson=$1 build=$2 src=$3 version=$4 run=$5 model=$6 image=$7
tmp=$8/install.$$ san=$9
. "$(dirname "$0")/check.sh"
# check NAME CMD...: CMD succeeds (its output goes to $tmp/log)
check() {
  name=$1; shift
  if "$@" >"$tmp/log" 2>&1; then ok; else bad "$name: $(head -c 2000 "$tmp/log")"; fi
}
py=/usr/bin/python3
cc=${CC:-cc}
# A sanitizer build installs an instrumented library: its users need the
# sanitizer's runtime too. A fully static program cannot have it.
sanflags=
[ "$san" != none ] && sanflags="-fsanitize=$san"
rm -rf "$tmp"
mkdir -p "$tmp"

# ---- install ----
root=$tmp/root
check "meson install" "$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet
pc=$(find "$root" -name fcn.pc | head -n 1)
lib=${pc%/pkgconfig/fcn.pc}
inc=$(find "$root" -name fcn.h | head -n 1)
inc=${inc%/fcn.h}
bin=$(find "$root" -name fcn-run | head -n 1)
if [ -n "$pc" ] && [ -f "$lib/libfcn.a" ] && [ -f "$lib/libfcn.so.$version" ] &&
   [ -n "$bin" ]; then ok
else bad "installed files: $(cd "$root" 2>/dev/null && find . | sort | tr '\n' ' ')"
  echo "$pass passed, $fail failed"; exit 1
fi
# the installed headers are the source's
check "headers installed" cmp "$inc/fcn.h" "$src/include/fcn.h"
check "fcn_detect.h installed" cmp "$inc/fcn_detect.h" "$src/include/fcn_detect.h"
check "fcn_tiff.h installed" cmp "$inc/fcn_tiff.h" "$src/include/fcn_tiff.h"

# ---- libfcn.so: soname, links, exports, dependencies ----
so=$lib/libfcn.so.$version
major=${version%%.*}
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libfcn.so.$major" ] && ok || bad "soname '$soname', not libfcn.so.$major"
[ "$(readlink -f "$lib/libfcn.so")" = "$(readlink -f "$so")" ] &&
  [ "$(readlink "$lib/libfcn.so.$major")" = "libfcn.so.$version" ] && ok ||
  bad "links: $(ls -l "$lib" | tr '\n' ' ')"
# defined dynamic symbols: fcn_* of version FCN_0 (nm writes NAME@@FCN_0),
# and the version node FCN_0 itself (an absolute symbol)
nm -D --defined-only "$so" | awk '!($2 == "A" && $3 ~ /^FCN_0(@@FCN_0)?$/) { print $3 }' |
  sort >"$tmp/symbols"
grep -v '^fcn_[a-z0-9_]*@@FCN_0$' "$tmp/symbols" >"$tmp/foreign"
[ -s "$tmp/symbols" ] && [ ! -s "$tmp/foreign" ] && ok ||
  bad "libfcn.so exports other than fcn_*@@FCN_0: $(head -n 20 "$tmp/foreign" | tr '\n' ' ')"
sed 's/@.*//' "$tmp/symbols" >"$tmp/exports"
# exactly the functions the installed headers declare
sed 's,/\*.*\*/,,; s,//.*,,' "$inc"/fcn*.h |
  grep -o '\bfcn_[a-z0-9_]*[[:space:]]*(\($\|[^*]\)' | sed 's/[[:space:]]*(.*//' |
  sort -u >"$tmp/declared"  # not "fcn_status (*callback)(...)"
if [ -s "$tmp/declared" ] && cmp -s "$tmp/declared" "$tmp/exports"; then ok
else bad "declared vs exported: $(diff "$tmp/declared" "$tmp/exports" | grep '^[<>]' | tr '\n' ' ')"; fi
# libfcn.a is position-independent: it links whole into a shared object
# (as into a Python extension module)
# shellcheck disable=SC2086
check "libfcn.a in a shared object" $cc $sanflags -shared -o "$tmp/whole.so" \
  -Wl,--whole-archive "$lib/libfcn.a" -Wl,--no-whole-archive -fopenmp
readelf -d "$so" | grep NEEDED >"$tmp/needed"
grep -qi 'openblas\|libstb' "$tmp/needed" && bad "libfcn.so needs: $(cat "$tmp/needed")" || ok
readelf -d "$so" | grep -q 'RPATH\|RUNPATH' && bad "libfcn.so has an rpath" || ok

# ---- the version: fcn.pc, the header, fcn_version() (below) ----
export PKG_CONFIG_PATH="${pc%/fcn.pc}" PKG_CONFIG_SYSROOT_DIR="$root"
unset PKG_CONFIG_LIBDIR LD_LIBRARY_PATH  # (meson test sets it for the build tree)
pcver=$(pkg-config --modversion fcn)
[ "$pcver" = "$version" ] && ok || bad "fcn.pc version '$pcver', project $version"
hver=$(sed -n 's/^#define FCN_VERSION_STRING "\(.*\)"/\1/p' "$inc/fcn.h")
[ "$hver" = "$version" ] && ok || bad "FCN_VERSION_STRING '$hver', project $version"

# ---- README.md's example, shared and static ----
sed -n '/<!-- fcn-example: begin -->/,/<!-- fcn-example: end -->/p' "$src/README.md" |
  grep -v '^<!--\|^```' >"$tmp/app.c"
grep -q 'int main' "$tmp/app.c" && ok || bad "no C example between the markers in README.md"
cflags="-std=c11 -O1 -Wall -Wextra -pedantic -Werror $sanflags"
# shared: pkg-config's flags as they are
# shellcheck disable=SC2046,SC2086
check "cc shared" $cc $cflags -o "$tmp/app-shared" "$tmp/app.c" $(pkg-config --cflags --libs fcn)
# static libfcn, the system libraries shared: libfcn.a named in place of -lfcn
# shellcheck disable=SC2046,SC2086
check "cc static libfcn" $cc $cflags -o "$tmp/app-static" "$tmp/app.c" \
  $(pkg-config --static --cflags --libs fcn | sed 's/-lfcn\b/-l:libfcn.a/')
readelf -d "$tmp/app-shared" 2>&1 | grep -q 'NEEDED.*\[libfcn\.so\.'"$major"'\]' && ok ||
  bad "app-shared does not need libfcn.so.$major"
readelf -d "$tmp/app-static" 2>&1 | grep -q 'NEEDED.*libfcn' && bad "app-static needs libfcn.so" || ok
readelf -d "$tmp/app-shared" 2>&1 | grep -qi 'NEEDED.*openblas' && bad "app-shared links OpenBLAS" || ok

export OMP_NUM_THREADS=2
ld=$lib
# the shared program finds the installed libfcn.so through LD_LIBRARY_PATH
LD_LIBRARY_PATH=$ld ldd "$tmp/app-shared" | grep -q "libfcn.so.$major => $lib/" && ok ||
  bad "ldd: $(LD_LIBRARY_PATH=$ld ldd "$tmp/app-shared" | grep fcn)"
check "fcn-run --out" "$run" "$model" "$image" --out "$tmp/ref.npy"
LD_LIBRARY_PATH=$ld "$tmp/app-shared" "$model" "$image" "$tmp/shared.npy" >"$tmp/out" 2>&1 && ok ||
  bad "app-shared: $(cat "$tmp/out")"
appver=$(sed -n 's/^fcn \([^:]*\): .*/\1/p' "$tmp/out")
[ "$appver" = "$pcver" ] && ok || bad "fcn_version() '$appver', fcn.pc '$pcver'"
# the static program needs no LD_LIBRARY_PATH
check "app-static" "$tmp/app-static" "$model" "$image" "$tmp/static.npy"

# same(NAME, A.npy, B.npy): same shape, same float32 bits (NumPy)
same() {
  check "$1" "$py" -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.dtype == b.dtype == np.float32, (a.dtype, b.dtype)
assert a.ndim == 3 and a.shape == b.shape and a.size > 0, (a.shape, b.shape)
assert np.isfinite(a).all()
d = np.count_nonzero(a.view(np.uint32) != b.view(np.uint32))
assert d == 0, "%d of %d floats differ" % (d, a.size)
' "$2" "$3"
}
same "shared vs fcn-run" "$tmp/shared.npy" "$tmp/ref.npy"
same "static vs fcn-run" "$tmp/static.npy" "$tmp/ref.npy"

# the installed fcn-run (linked with libfcn.a) runs from its prefix alone
check "installed fcn-run" "$bin" "$model" "$image" --out "$tmp/inst.npy"
same "installed fcn-run vs build's" "$tmp/inst.npy" "$tmp/ref.npy"

# OpenBLAS (FCN_ISA=blas): the installed libfcn.so opens the OpenMP build
# by its full path, though neither it nor the program links it
FCN_ISA=blas LD_DEBUG=files LD_LIBRARY_PATH=$ld "$tmp/app-shared" "$model" "$image" \
  "$tmp/blas.npy" >"$tmp/out" 2>"$tmp/lddebug" && ok || bad "app-shared, FCN_ISA=blas: $(tail -n 3 "$tmp/lddebug")"
# (by libfcn.so; under ASan, its dlopen interceptor in libasan is the caller)
grep -Eq "file=/.*openblas.*/libopenblas\.so\.0 .*dynamically loaded by ($lib/libfcn\.so\.$major|/.*/libasan\.so[.0-9]*) " \
  "$tmp/lddebug" && ! grep -q 'libopenblas.*needed by' "$tmp/lddebug" && ok ||
  bad "OpenBLAS not opened by full path from the installed libfcn.so: $(grep -i openblas "$tmp/lddebug" | head -n 3)"
check "fcn-run FCN_ISA=blas" env FCN_ISA=blas "$run" "$model" "$image" --out "$tmp/ref-blas.npy"
same "shared vs fcn-run, OpenBLAS" "$tmp/blas.npy" "$tmp/ref-blas.npy"

# a fully static program: pkg-config --static's flags with -static
if [ -n "$sanflags" ]; then
  echo "SKIP: fully static program (a $san build: the sanitizer runtimes cannot link statically)"
else
  # shellcheck disable=SC2046,SC2086
  check "cc -static" $cc -static -std=c11 -O1 -o "$tmp/app-full" "$tmp/app.c" \
    $(pkg-config --static --cflags --libs fcn)
  readelf -d "$tmp/app-full" 2>&1 | grep -q NEEDED && bad "app-full needs shared libraries" || ok
  check "app-full" "$tmp/app-full" "$model" "$image" "$tmp/full.npy"
  same "fully static vs fcn-run" "$tmp/full.npy" "$tmp/ref.npy"
fi

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
