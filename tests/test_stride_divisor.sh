#!/bin/sh
# fcn-run --stride-divisor K (fcn_options.stride_divisor): score maps finer
# than the network's stride against numpy references, both kernel variants,
# refusals, regions and tiles (tests/test_stride_divisor.py says what).
# Ends with "N passed, N failed".
# usage: test_stride_divisor.sh FCN_RUN SOURCE_ROOT
exec /usr/bin/python3 "$(dirname "$0")/test_stride_divisor.py" "$1" "$2"
