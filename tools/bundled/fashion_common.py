"""Shared helpers for the bundled Fashion-MNIST model (models/fashion.bin).

Used by the scripts in tools/bundled/ and by tools/dev/gen_bundled_fixture.py.
numpy only (no torch, no PIL), so the canvas and the check run without torch.

Pixel convention: like Fashion-MNIST itself, items are bright on a black
background. Canvases and background patches are black-ish with a mild
low-frequency texture and pixel noise; an item is composited onto them with
max(background, item), so the item's own black surround shows the texture.
"""
import gzip
import os
import struct
import zlib

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"   # Debian package: fashion-mnist data

ITEM_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
LABELS = ITEM_LABELS + ["background"]
BACKGROUND = 10
WINDOW = 28          # trained input size (H = W)
STRIDE = 4           # overall stride of the network (two 2x2 max pools)

# Preprocessing stored in the model: (pixel * SCALE - MEAN) / STD.
SCALE = 1.0 / 255.0
MEAN = 0.2860        # Fashion-MNIST training-set mean of pixel/255
STD = 0.3530         # Fashion-MNIST training-set std of pixel/255

# A patch is "background" when every item in it is shifted by at least this
# much (max(|dx|, |dy|), pixels) from the centred 28x28 position.
BG_MIN_SHIFT = 10
# Items labelled with their class are shifted by at most this much; with a
# stride of 4 the nearest score-map cell is at most 2 px off in each axis.
ITEM_MAX_SHIFT = 2


# ---------------------------------------------------------------- IDX files

def read_idx(path):
    """Read a (gzipped) IDX file into a numpy array (uint8)."""
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        buf = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", buf, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack_from(">%dI" % ndim, buf, 4)
    off = 4 + 4 * ndim
    return np.frombuffer(buf, dtype=np.uint8, offset=off).reshape(dims)


def load_split(split, data_dir=DATA_DIR):
    """split: 'train' or 't10k'. Returns (images uint8 [N,28,28], labels int64 [N])."""
    x = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split))
    return x, y.astype(np.int64)


# ----------------------------------------------------------- backgrounds

def _interp_matrix(n_out, n_in):
    """[n_out, n_in] bilinear interpolation weights, aligned corners."""
    pos = np.linspace(0, n_in - 1, n_out)
    i0 = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    f = pos - i0
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] = 1 - f
    m[np.arange(n_out), i0 + 1] += f
    return m


def upsample_bilinear(coarse, h, w):
    """coarse [N, ch, cw] -> [N, h, w], bilinear with aligned corners."""
    ry = _interp_matrix(h, coarse.shape[1])
    rx = _interp_matrix(w, coarse.shape[2])
    return np.matmul(np.matmul(ry, coarse), rx.T)


def backgrounds(rng, n, h=WINDOW, w=WINDOW, cells=None, blank_p=0.15):
    """n black-ish textured backgrounds as float32 [n, h, w] in 0..255 (not rounded).

    base level U(0, 24) + a smooth field of amplitude U(0, 12) (coarse random
    grid, bilinear) + Gaussian pixel noise of sigma U(0, 6). A fraction blank_p
    are exactly 0 (the Fashion-MNIST surround itself).
    """
    if cells is None:
        cells = (max(2, h // 7 + 1), max(2, w // 7 + 1))
    base = rng.uniform(0, 24, size=(n, 1, 1))
    amp = rng.uniform(0, 12, size=(n, 1, 1))
    sigma = rng.uniform(0, 6, size=(n, 1, 1))
    smooth = upsample_bilinear(rng.uniform(-1, 1, size=(n,) + tuple(cells)), h, w)
    bg = base + amp * smooth + sigma * rng.standard_normal((n, h, w), dtype=np.float32)
    bg = np.clip(bg, 0, 255)
    if blank_p > 0:
        bg[rng.random(n) < blank_p] = 0
    return bg.astype(np.float32)


def paste_max(dst, item, x, y):
    """Composite a 28x28 item onto dst (2-D) with its top-left corner at (x, y),
    clipped to dst, with max(). x, y may be negative or past the edge."""
    H, W = dst.shape
    ih, iw = item.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + iw, W), min(y + ih, H)
    if x0 >= x1 or y0 >= y1:
        return
    np.maximum(dst[y0:y1, x0:x1], item[y0 - y:y1 - y, x0 - x:x1 - x],
               out=dst[y0:y1, x0:x1])


def quantize(a):
    """Round to uint8 like an 8-bit image."""
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _shift_ge(rng, lo, hi):
    """A shift (dx, dy) with lo <= max(|dx|, |dy|) <= hi."""
    while True:
        dx, dy = rng.integers(-hi, hi + 1, size=2)
        if max(abs(dx), abs(dy)) >= lo:
            return int(dx), int(dy)


def item_patches(rng, images, idx, max_shift=ITEM_MAX_SHIFT, neighbour_p=0.2):
    """Patches labelled with the item's class: the item shifted by at most
    max_shift px on a random background; with probability neighbour_p another
    item lies next to it, at least 26 px away (non-overlapping on a canvas).
    Returns uint8 [n, 28, 28]."""
    n = len(idx)
    out = backgrounds(rng, n)
    for k in range(n):
        dx, dy = rng.integers(-max_shift, max_shift + 1, size=2)
        paste_max(out[k], images[idx[k]], int(dx), int(dy))
        if rng.random() < neighbour_p:
            ox, oy = _shift_ge(rng, 26, 27)
            paste_max(out[k], images[rng.integers(len(images))], ox, oy)
    return quantize(out)


def background_patches(rng, images, n, item_p=0.75):
    """'background' patches: a random background, and with probability item_p
    one or two items only partly visible / off-centre (shifted by 10 to 27 px
    from the centred position). Returns uint8 [n, 28, 28]."""
    out = backgrounds(rng, n)
    for k in range(n):
        if rng.random() < item_p:
            for _ in range(1 + int(rng.random() < 0.3)):
                dx, dy = _shift_ge(rng, BG_MIN_SHIFT, WINDOW - 1)
                paste_max(out[k], images[rng.integers(len(images))], dx, dy)
    return quantize(out)


def preprocess(u8):
    """uint8 pixels -> float32 network input, exactly as the model file says."""
    return ((u8.astype(np.float32) * np.float32(SCALE)) - np.float32(MEAN)) / np.float32(STD)


# ---------------------------------------------------------------- PNG I/O

def write_png_gray(path, img):
    """Write an 8-bit grayscale PNG (color type 0) with zlib + struct."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))   # filter 0 (None)
    png = (b"\x89PNG\r\n\x1a\n" +
           chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw, 9)) +
           chunk(b"IEND", b""))
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def read_png_gray(path):
    """Read an 8-bit grayscale, non-interlaced PNG (all five row filters)."""
    buf = open(path, "rb").read()
    if buf[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(buf):
        (ln,) = struct.unpack_from(">I", buf, pos)
        tag = buf[pos + 4:pos + 8]
        data = buf[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if tag == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", data)
        elif tag == b"IDAT":
            idat.append(data)
        elif tag == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype != 0 or interlace != 0:
        raise ValueError("%s: only 8-bit gray non-interlaced PNG supported" % path)
    raw = zlib.decompress(b"".join(idat))
    img = np.zeros((h, w), dtype=np.int32)
    prev = np.zeros(w, dtype=np.int32)
    for r in range(h):
        f = raw[r * (w + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=w, offset=r * (w + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 0xFF
        else:
            cur = np.zeros(w, dtype=np.int32)
        for x in (range(w) if f not in (0, 2) else ()):
            a = cur[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 0xFF
        img[r] = cur
        prev = cur
    return img.astype(np.uint8)
