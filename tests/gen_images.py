#!/usr/bin/python3
"""Test images for tests/test_images.c, made by independent tools (PIL,
NumPy, the vips command), with the pixels fcn must decode from each, as PIL
and NumPy compute them.

usage: gen_images.py DIR   (writes DIR/manifest.txt and the files it names)

manifest lines:
  decode NAME FILE CHANNELS DEPTH W H RAW WHO
      fcn_image_decode(FILE) with CHANNELS channels must give RAW exactly
      (H x W x CHANNELS samples, uint8, or uint16 little-endian for DEPTH
      16); WHO: both (stb and libvips) or vips (libvips only)
  refuse NAME FILE STATUS TEXT WHO
      decoding fails with fcn_status STATUS, the message containing TEXT
      (underscores for spaces)
  fit MODE H W OUT_H OUT_W RH RW TOP LEFT
      torchvision's sizes: the image resized to RH x RW, then cut at
      TOP, LEFT (CROP); MODE 0 stretch, 1 shorter, 2 crop
  fitpx FILE OUT_H OUT_W RAW
      FCN_FIT_CROP of the gray FILE to OUT_H x OUT_W, exactly a 2x box
      downscale and a cut: RAW the float32 means from NumPy
"""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)
lines = []


def path(name):
    return os.path.join(out, name)


def expect(name, file, arr, who):
    """A decode line: arr is H x W (x C) uint8 or uint16."""
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[:, :, None]
    depth = 16 if a.dtype == np.uint16 else 8
    raw = name + '.raw'
    a.astype('<u2' if depth == 16 else 'u1').tofile(path(raw))
    lines.append('decode %s %s %d %d %d %d %s %s' % (
        name, file, a.shape[2], depth, a.shape[1], a.shape[0], raw, who))


def both_ways(name, file, im, who):
    """PIL's convert('RGB') and convert('L') of what PIL decodes."""
    expect(name + '_rgb', file, np.asarray(im.convert('RGB')), who)
    expect(name + '_l', file, np.asarray(im.convert('L')), who)


def vips(*args):
    subprocess.run(['vips'] + list(args), check=True)


def png16(file, a):
    """A 16-bit PNG written here (PIL writes no 16-bit RGB): a is
    H x W x C uint16, C 1 or 3."""
    h, w, c = a.shape
    rows = b''.join(b'\0' + a[y].astype('>u2').tobytes() for y in range(h))

    def chunk(t, d):
        return (struct.pack('>I', len(d)) + t + d +
                struct.pack('>I', zlib.crc32(t + d) & 0xffffffff))
    with open(path(file), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16,
                                           0 if c == 1 else 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(rows)))
        f.write(chunk(b'IEND', b''))


H, W = 13, 17
rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
rgba = np.dstack([rgb, rng.integers(0, 256, (H, W), dtype=np.uint8)])
gray = rng.integers(0, 256, (H, W), dtype=np.uint8)
la = np.dstack([gray, rng.integers(0, 256, (H, W), dtype=np.uint8)])

# lossless formats both decoders read: PNG (RGB, RGBA, gray, gray+alpha,
# palette with transparency), PNM, BMP
for name, a, mode in [('rgb', rgb, 'RGB'), ('rgba', rgba, 'RGBA'),
                      ('gray', gray, 'L'), ('la', la, 'LA')]:
    Image.fromarray(a, mode).save(path(name + '.png'))
    both_ways(name, name + '.png', Image.open(path(name + '.png')), 'both')
pal = Image.fromarray(rgb, 'RGB').quantize(colors=16)
pal.info['transparency'] = 3
pal.save(path('palette.png'), transparency=3)
both_ways('palette', 'palette.png', Image.open(path('palette.png')), 'both')
Image.fromarray(rgb, 'RGB').save(path('rgb.ppm'))
both_ways('ppm', 'rgb.ppm', Image.open(path('rgb.ppm')), 'both')
Image.fromarray(gray, 'L').save(path('gray.pgm'))
both_ways('pgm', 'gray.pgm', Image.open(path('gray.pgm')), 'both')
Image.fromarray(rgb, 'RGB').save(path('rgb.bmp'))
both_ways('bmp', 'rgb.bmp', Image.open(path('rgb.bmp')), 'both')

# 16 bits: PNG (gray, RGB), PGM (maxval 65535): full depth; the gray of
# RGB with PIL's weights at 16 bits (L24: (r*19595 + g*38470 + b*7471 +
# 0x8000) >> 16)
rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
gray16 = rng.integers(0, 65536, (H, W, 1), dtype=np.uint16)
luma16 = ((rgb16[..., 0].astype(np.uint64) * 19595 +
           rgb16[..., 1].astype(np.uint64) * 38470 +
           rgb16[..., 2].astype(np.uint64) * 7471 + 0x8000) >> 16
          ).astype(np.uint16)
png16('rgb16.png', rgb16)
expect('rgb16_rgb', 'rgb16.png', rgb16, 'both')
expect('rgb16_l', 'rgb16.png', luma16, 'both')
png16('gray16.png', gray16)
expect('gray16_l', 'gray16.png', gray16, 'both')
expect('gray16_rgb', 'gray16.png', np.repeat(gray16, 3, axis=2), 'both')
with open(path('gray16.pgm'), 'wb') as f:
    f.write(b'P5\n%d %d\n65535\n' % (W, H))
    f.write(gray16[..., 0].astype('>u2').tobytes())
expect('pgm16_l', 'gray16.pgm', gray16, 'both')
# the same pictures at 8 bits and at v * 257 (preprocessing: equal floats)
png16('rgb8x257.png', rgb.astype(np.uint16) * 257)
g40 = rng.integers(0, 256, (40, 48), dtype=np.uint8)
Image.fromarray(g40, 'L').save(path('g40.png'))
png16('g40x257.png', g40[..., None].astype(np.uint16) * 257)

# libvips alone: TIFF, BigTIFF, 16-bit TIFF, WebP lossless, CMYK TIFF
Image.fromarray(rgb, 'RGB').save(path('rgb.tif'))
both_ways('tiff', 'rgb.tif', Image.open(path('rgb.tif')), 'vips')
vips('tiffsave', path('rgb.png'), path('big.tif'), '--bigtiff')
both_ways('bigtiff', 'big.tif', Image.open(path('rgb.png')), 'vips')
vips('tiffsave', path('rgb16.png'), path('rgb16.tif'))
expect('tiff16_rgb', 'rgb16.tif', rgb16, 'vips')
Image.fromarray(gray16[..., 0], 'I;16').save(path('gray16.tif'))
expect('tiff16_l', 'gray16.tif', gray16, 'vips')
Image.fromarray(rgba, 'RGBA').save(path('rgba.webp'), lossless=True,
                                   exact=True)
both_ways('webp', 'rgba.webp', Image.open(path('rgba.webp')), 'vips')
cmyk = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
Image.fromarray(cmyk, 'CMYK').save(path('cmyk.tif'))
both_ways('cmyk', 'cmyk.tif', Image.open(path('cmyk.tif')), 'vips')

# EXIF orientations 1 to 8 (6 and 8: rotations by 90 degrees): what
# ImageOps.exif_transpose gives, on the pixels PIL's libjpeg decodes
# (libvips uses the same libjpeg-turbo)
for o in range(1, 9):
    im = Image.fromarray(rgb, 'RGB')
    ex = Image.Exif()
    ex[0x0112] = o
    im.save(path('exif%d.jpg' % o), quality=95, exif=ex.tobytes())
    t = ImageOps.exif_transpose(Image.open(path('exif%d.jpg' % o)))
    both_ways('exif%d' % o, 'exif%d.jpg' % o, t, 'vips')

# refused: float TIFF; bombs whose header claims far more than the cap
Image.fromarray(rng.random((H, W), dtype=np.float32), 'F').save(
    path('float.tif'))
lines.append('refuse float float.tif 3 float_samples_are_not_supported vips')
with open(path('bomb.tif'), 'wb') as f:  # 60000 x 60000, 8-bit gray
    tags = [(256, 4, 60000), (257, 4, 60000), (258, 3, 8), (259, 3, 1),
            (262, 3, 1), (273, 4, 8 + 2 + 12 * 10 + 4), (277, 3, 1),
            (278, 4, 60000), (279, 4, 60000 * 60000 & 0xffffffff),
            (284, 3, 1)]
    f.write(b'II*\0' + struct.pack('<I', 8) + struct.pack('<H', len(tags)))
    for tag, typ, val in tags:
        f.write(struct.pack('<HHI', tag, typ, 1) +
                (struct.pack('<HH', val, 0) if typ == 3
                 else struct.pack('<I', val)))
    f.write(struct.pack('<I', 0) + bytes(64))
lines.append('refuse tiffbomb bomb.tif 5 60000x60000_(3600000000_pixels)'
             '_exceeds_the_limit vips')
with open(path('bomb.webp'), 'wb') as f:  # VP8L 16383 x 16383
    bits = (16383 - 1) | ((16383 - 1) << 14) | (1 << 28)
    vp8l = b'\x2f' + struct.pack('<I', bits) + bytes(15)  # even
    body = b'WEBP' + b'VP8L' + struct.pack('<I', len(vp8l)) + vp8l
    f.write(b'RIFF' + struct.pack('<I', len(body)) + body)
lines.append('refuse webpbomb bomb.webp 5 16383x16383_(268402689_pixels)'
             '_exceeds_the_limit vips')

# cut short (two thirds of the file): FCN_ERR_FORMAT, naming the file
for src, who in [('rgb.png', 'both'), ('exif6.jpg', 'vips'),
                 ('rgb.tif', 'vips'), ('cmyk.tif', 'vips'),
                 ('rgba.webp', 'vips')]:
    with open(path(src), 'rb') as f:
        data = f.read()
    cut = 'cut-' + src
    with open(path(cut), 'wb') as f:
        f.write(data[:len(data) * 2 // 3])
    lines.append('refuse %s %s 2 %s %s' % (cut, cut, cut, who))


# fit modes: torchvision's formulas (transforms.functional
# _compute_resized_output_size, center_crop)
def resized(h, w, size):
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


for h, w, oh, ow in [(100, 150, 32, 32), (150, 100, 32, 32), (7, 10, 4, 4),
                     (4, 11, 4, 4), (4, 13, 4, 4), (20, 20, 8, 12),
                     (33, 50, 24, 16), (375, 500, 224, 224),
                     (500, 375, 224, 224), (9, 9, 9, 9)]:
    lines.append('fit 0 %d %d %d %d %d %d 0 0' % (h, w, oh, ow, oh, ow))
    rh, rw = resized(h, w, min(oh, ow))
    lines.append('fit 1 %d %d %d %d %d %d 0 0' % (h, w, oh, ow, rh, rw))
    # the cover: Resize(int) on the side that limits
    if oh * w >= ow * h:
        rh, rw = oh, int(oh * w / h)
    else:
        rh, rw = int(ow * h / w), ow
    top = int(round((rh - oh) / 2.0))
    left = int(round((rw - ow) / 2.0))
    lines.append('fit 2 %d %d %d %d %d %d %d %d' % (h, w, oh, ow, rh, rw,
                                                    top, left))

# fit pixels: an 8 x 26 gray image to 4 x 4: a 2x box downscale to 4 x 13,
# then the cut at left int(round(4.5)) = 4
g = rng.integers(0, 256, (8, 26), dtype=np.uint8)
Image.fromarray(g, 'L').save(path('fit.png'))
half = g.reshape(4, 2, 13, 2).astype(np.float64).mean(axis=(1, 3))
left = int(round((13 - 4) / 2.0))
half[:, left:left + 4].astype(np.float32).tofile(path('fit.raw'))
lines.append('fitpx fit.png 4 4 fit.raw')

with open(path('manifest.txt'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
