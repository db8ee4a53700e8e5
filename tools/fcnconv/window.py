"""Window arithmetic of convolutions and pools, one spatial axis at a time.

The converters resolve every window op at the trained input size: they need
its output length (to track shapes and to refuse a window that does not fit)
and, for TensorFlow's SAME padding, the pads it implies. fcn's loader computes
the same output length (src/kernels/view.c, win_out()).

    n     input length          k  taps          s  stride
    d     dilation              pad = (before, after)
"""


def extent(k, d=1):
    """Input pixels a k-tap window dilated by d covers."""
    return (k - 1) * d + 1


def window_out(n, k, s=1, d=1, pad=(0, 0), ceil_mode=False):
    """Output length: floor((n + pads - extent) / s) + 1, or with ceil_mode
    rounded up unless the last window would start in the trailing padding
    (PyTorch's and ONNX's rule). 0 when the window is larger than the padded
    input."""
    span = n + pad[0] + pad[1] - extent(k, d)
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    o = -(-span // s) + 1
    if (o - 1) * s >= n + pad[0]:
        o -= 1
    return o


def same_pads(n, k, s, d=1, lower=False):
    """(before, after) of SAME padding: the output is ceil(n / s) long and the
    window pads as little as that needs, the odd pixel after the input
    (TensorFlow, ONNX SAME_UPPER) or before it (ONNX SAME_LOWER)."""
    out = -(-n // s)
    total = max(0, (out - 1) * s + extent(k, d) - n)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)
