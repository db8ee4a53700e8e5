#!/bin/sh
# test_layers.sh SRC: the library's folders include only the folders below
# them (docs/architecture.md): util <- kernels <- ops <- core, io beside
# ops, detect on the core, the front ends on the public headers alone.
# Public headers (include/) may be included everywhere. Ends with
# "N passed, N failed".
src=${1:-src}
pass=0
fail=0
allowed() {
    case $1 in
    util) echo "util" ;;
    kernels) echo "kernels util" ;;
    ops) echo "ops kernels util" ;;
    io) echo "io util" ;;
    core) echo "core ops kernels io util" ;;
    detect) echo "detect core util" ;;
    cli) echo "" ;;
    esac
}
for dir in util kernels ops io core detect cli; do
    ok=$(allowed $dir)
    for f in "$src/$dir"/*.[ch]; do
        for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*"/\1/p' "$f"); do
            case " $ok " in
            *" $inc "*) pass=$((pass + 1)) ;;
            *) fail=$((fail + 1))
               echo "FAIL $f includes from $inc/ (allowed: ${ok:-none})" ;;
            esac
        done
    done
done
# the front ends see nothing of src/ but their own folder
for f in "$src"/cli/*.c; do
    if grep -q '^#include <\(omp\|cblas\)\.h>' "$f"; then
        fail=$((fail + 1))
        echo "FAIL $f includes OpenMP or BLAS headers"
    else
        pass=$((pass + 1))
    fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
