"""Images and what PIL (and NumPy) decode from them, for test_inputs_stb.c.

usage: /usr/bin/python3 tests/stb_refs.py DIR PREFIX

Writes DIR/PREFIX<name> image files, the expected pixels of each as raw
files (8-bit, or 16-bit little-endian where the depth is 16), and
DIR/PREFIXmanifest.txt, one line an expectation:
    IMAGE CHANNELS W H DEPTH EXPECTED MAXDIFF MEANDIFF
(MAXDIFF/MEANDIFF: the largest and the mean absolute difference allowed;
0 0 is exact, the rest is JPEG, whose IDCT stb computes otherwise).

PNM (P5/P6, 8 and 16-bit, maxval 1 to 65535): the expected values are
PIL's own where PIL gives them (mode L, RGB, and I for 16-bit P5, whose
values PIL scales to 0..65535) and convert('L') / convert('RGB') for the
other channel count; for 16-bit P6, where PIL gives 8 bits only, NumPy's
round(v / maxval * 65535) (checked against PIL's 8-bit values) and
Pillow's L24 luma for gray. A JPEG with restart markers (written by the
`vips` command, where there is one). Large PNG, JPEG, GIF and BMP files
(noise, so that they compress badly) check that the cap on stb's memory
refuses none of them.
"""
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image

D, P = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
lines = []


def path(name):
    return os.path.join(D, P + name)


def expect(image, channels, a, depth, name, maxdiff=0, meandiff=0):
    """a: H x W (x C) array of the expected pixels."""
    a = np.asarray(a)
    h, w = a.shape[:2]
    raw = a.astype("<u2" if depth == 16 else "u1").tobytes()
    with open(path(name), "wb") as f:
        f.write(raw)
    lines.append("%s %d %d %d %d %s %g %g" % (
        path(image), channels, w, h, depth, path(name), maxdiff, meandiff))


def luma16(rgb):
    """Pillow's L24 (ITU-R 601-2 in 16-bit fixed point) at 16 bits."""
    r, g, b = (rgb[..., k].astype(np.uint64) for k in range(3))
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


def pnm(name, t, m, w, h, header=None):
    c = 1 if t == 5 else 3
    n = w * h * c
    top = 65535 if m > 255 else 255
    # every value 0 .. m (and a few over it) first, then random ones
    v = np.concatenate([np.arange(min(m + 3, top + 1)),
                        rng.integers(0, min(m, top) + 1, n)])[:n]
    v = v.reshape(h, w, c) if c == 3 else v.reshape(h, w)
    data = v.astype(">u2" if m > 255 else "u1").tobytes()
    hdr = header or b"P%d\n%d %d\n%d\n" % (t, w, h, m)
    with open(path(name), "wb") as f:
        f.write(hdr + data)
    im = Image.open(path(name))
    im.load()
    if m <= 255:
        e = np.asarray(im)
        other = np.asarray(im.convert("RGB" if c == 1 else "L"))
        expect(name, c, e, 8, name + ".c%d" % c)
        expect(name, 4 - c, other, 8, name + ".c%d" % (4 - c))
    elif c == 1:
        assert im.mode == "I"
        e = np.asarray(im).astype(np.uint16)
        expect(name, 1, e, 16, name + ".c1")
        expect(name, 3, np.stack([e] * 3, axis=-1), 16, name + ".c3")
    else:
        e = np.minimum(np.round(v / m * 65535), 65535).astype(np.uint16)
        pil8 = np.asarray(im)
        assert (pil8 == np.minimum(np.round(v / m * 255), 255)).all()
        expect(name, 3, e, 16, name + ".c3")
        expect(name, 1, luma16(e), 16, name + ".c1")


for m in (1, 2, 100, 254, 255, 300, 510, 1000, 65535):
    pnm("p5_%d.pgm" % m, 5, m, 64, 17)
    pnm("p6_%d.ppm" % m, 6, m, 40, 9)
pnm("p5_comments.pgm", 5, 1000, 8, 3,
    b"P5 # a comment\n8\t# width\n 3\r\n#maxval next\n1000\n")
pnm("p6_comments.ppm", 6, 200, 5, 2, b"P6\n#\n5 2 200 ")


def png16_interlaced(name, a):
    """An RGBA 16-bit Adam7-interlaced PNG of a (H x W x 4 uint16), written
    here (PIL writes neither): filter 0 on every row."""
    h, w = a.shape[:2]
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8),
                           (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = a[y0::dy, x0::dx]
        if sub.size:
            for row in sub:
                raw += b"\0" + row.astype(">u2").tobytes()

    def chunk(t, d):
        c = struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
        return struct.pack(">I", len(d)) + t + d + c
    with open(path(name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 1)) +
                chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def noise(h, w, c, top=256):
    return rng.integers(0, top, (h, w, c)).astype(np.uint8 if top <= 256
                                                   else np.uint16)


def smooth(h, w):
    """An RGB picture JPEG keeps close: gradients with some noise."""
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h)], -1)
    return np.clip(a + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)


a = noise(700, 900, 4)
Image.fromarray(a, "RGBA").save(path("rgba.png"), compress_level=1)
expect("rgba.png", 3, a[..., :3], 8, "rgba.png.c3")
a = noise(300, 400, 4, 65536)
png16_interlaced("rgba16_adam7.png", a)
expect("rgba16_adam7.png", 3, a[..., :3], 16, "rgba16_adam7.png.c3")
g = noise(500, 600, 1, 65536)[..., 0]
Image.fromarray(g.astype(np.int32), "I").convert("I;16").save(
    path("gray16.png"))
expect("gray16.png", 1, np.asarray(Image.open(path("gray16.png"))), 16,
       "gray16.png.c1")
for name, w, h in (("wide.png", 20000, 2), ("tall.png", 2, 20000)):
    g = noise(h, w, 1)[..., 0]
    Image.fromarray(g, "L").save(path(name), compress_level=1)
    expect(name, 1, g, 8, name + ".c1")
a = smooth(700, 1000)
for name, kw in (("base420.jpg", dict(quality=90, subsampling=2)),
                 ("base444.jpg", dict(quality=95, subsampling=0))):
    Image.fromarray(a).save(path(name), **kw)
    e = np.asarray(Image.open(path(name)).convert("RGB"))
    expect(name, 3, e, 8, name + ".c3", 48, 1.5)
Image.fromarray(a).convert("L").save(path("gray.jpg"), quality=90)
# a progressive JPEG: refused by the stb path (test_inputs_stb.c)
Image.fromarray(a[:64, :64]).save(path("prog.jpg"), quality=90,
                                  progressive=True)
expect("gray.jpg", 1, np.asarray(Image.open(path("gray.jpg"))), 8,
       "gray.jpg.c1", 48, 1.5)
# restart markers in the scan, a DRI and EXIF (APP1): the marker walk
# steps over them (libvips' jpegsave writes restart intervals; PIL 9 not)
if shutil.which("vips"):
    ex = Image.Exif()
    ex[0x010e] = "fcn"
    Image.fromarray(a[:90, :130]).save(path("src.jpg"), quality=90,
                                       exif=ex.tobytes(), comment=b"fcn")
    subprocess.run(["vips", "jpegsave", path("src.jpg"), path("rst.jpg"),
                    "--restart-interval", "1"], check=True)
    e = np.asarray(Image.open(path("rst.jpg")).convert("RGB"))
    expect("rst.jpg", 3, e, 8, "rst.jpg.c3", 48, 1.5)
im = Image.fromarray(noise(600, 800, 3)).quantize(256)
im.save(path("noise.gif"))
expect("noise.gif", 3, np.asarray(Image.open(path("noise.gif")).convert("RGB")),
       8, "noise.gif.c3")
a = noise(700, 900, 3)
Image.fromarray(a).save(path("noise.bmp"))
expect("noise.bmp", 3, a, 8, "noise.bmp.c3")

with open(path("manifest.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
