"""NumPy float64 reference layers shared by the fixture generators, on
(C, H, W) arrays. They share no code with the converters they check."""
import numpy as np


def np_conv(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), groups=1):
    """NumPy float64 cross-correlation. x (C,H,W), w (O,C/g,kh,kw); pads t,l,b,r."""
    x = np.pad(np.asarray(x, np.float64), ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    w = np.asarray(w, np.float64)
    O, cg, kh, kw = w.shape
    C, H, W = x.shape
    oh = (H - (kh - 1) * dil[0] - 1) // stride[0] + 1
    ow = (W - (kw - 1) * dil[1] - 1) // stride[1] + 1
    y = np.zeros((O, oh, ow))
    og = O // groups
    for g in range(groups):
        xs = x[g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, i * dil[0]:i * dil[0] + stride[0] * (oh - 1) + 1:stride[0],
                           j * dil[1]:j * dil[1] + stride[1] * (ow - 1) + 1:stride[1]]
                y[g * og:(g + 1) * og] += np.einsum("oc,chw->ohw",
                                                     w[g * og:(g + 1) * og, :, i, j], patch)
    if b is not None:
        y += np.asarray(b, np.float64)[:, None, None]
    return y


def np_softmax(z, axis=0):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
