#!/usr/bin/python3
"""Write the fuzz seed corpus and the harnesses' models (tests/fuzz/README.md).

    /usr/bin/python3 tests/fuzz/gen_seeds.py

corpus/model: tiny models, every op and metadata key of docs/model-format.md
(the fixtures' models are copied beside them); corpus/image: tiny images in
every format stb_image reads; corpus/npy: small .npy files, valid and not;
models/rgb_area.bin: the RGB, area-resize model fuzz_image decodes for.
Deterministic: running it again rewrites the same bytes.
"""
import io
import os
import shutil
import struct
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from fcnconv.modelbin import Model  # noqa: E402

rng = np.random.default_rng(7)


def w(*shape):
    return rng.standard_normal(shape).astype(np.float32) * 0.5


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def models():
    out = {}
    # conv, pool, chw head; bgr, area resize, mean/std, labels
    m = Model((3, 8, 8), ["cat", "dog", "background"], color="bgr",
              resize="area", scale=[1 / 255], mean=[0.5, 0.4, 0.3],
              std=[0.2, 0.3, 0.25], name="fuzz seed")
    m.add("Conv", "c1", ["input"], "t1", {"kernel": [3, 3], "pad": [1, 1, 1, 1]},
          weight=w(4, 3, 3, 3), bias=w(4))
    m.add("Relu", "r1", ["t1"], "t2")
    m.add("MaxPool", "p1", ["t2"], "t3", {"kernel": [2, 2]})
    m.add("Flatten", "f", ["t3"], "t4", {"order": "chw"})
    m.add("Dense", "d", ["t4"], "t5", weight=w(3, 64), bias=w(3))
    m.add("Softmax", "s", ["t5"], "out")
    out["conv_pool_dense"] = m
    # gray; dilated conv, BatchNorm, LeakyRelu, global average pool head
    m = Model((1, 9, 9), color="gray", input="x")
    m.add("Conv", "c1", ["x"], "t1", {"kernel": [3, 3], "dilation": [2, 2]},
          weight=w(2, 1, 3, 3))
    m.add("BatchNorm", "bn", ["t1"], "t2", {"eps": 1e-3}, scale=w(2), bias=w(2),
          mean=w(2), var=np.abs(w(2)) + 0.5)
    m.add("LeakyRelu", "lr", ["t2"], "t3", {"alpha": 0.1})
    m.add("GlobalAvgPool", "gap", ["t3"], "t4")
    m.add("Flatten", "f", ["t4"], "t5", {"order": "chw"})
    m.add("Dense", "d", ["t5"], "out", weight=w(2, 2))
    out["gap_bn"] = m
    # branches: Add, Concat, Clip, AvgPool with ceil mode and padding, hwc head
    m = Model((3, 7, 7), ["a", "b"])
    m.add("Conv", "a", ["input"], "ta", {"kernel": [1, 1]}, weight=w(2, 3, 1, 1))
    m.add("Conv", "b", ["input"], "tb", {"kernel": [3, 3], "pad": [1, 1, 1, 1]},
          weight=w(2, 3, 3, 3), bias=w(2))
    m.add("Add", "add", ["ta", "tb"], "tc")
    m.add("Concat", "cat", ["ta", "tc"], "td")
    m.add("Clip", "clip", ["td"], "te", {"min": 0.0, "max": 6.0})
    m.add("AvgPool", "ap", ["te"], "tf", {"kernel": [3, 3], "stride": [2, 2],
          "pad": [1, 1, 1, 1], "ceil_mode": 1, "count_include_pad": 0})
    m.add("HardSwish", "hs", ["tf"], "tg")
    m.add("Flatten", "f", ["tg"], "th", {"order": "hwc"})
    m.add("Dense", "d", ["th"], "ti", weight=w(2, 64), bias=w(2))
    m.add("Sigmoid", "sg", ["ti"], "out")
    out["branches"] = m
    # Pad, LRN, Mul, Tanh, HardSigmoid, Dropout, Identity, grouped flipped
    # strided conv, global max pool head
    m = Model((3, 6, 6))
    m.add("Pad", "pad", ["input"], "t1", {"pad": [1, 0, 0, 1], "value": 0.5})
    m.add("LRN", "lrn", ["t1"], "t2", {"size": 3, "alpha": 1e-3, "beta": 0.75,
          "bias": 1.0})
    m.add("Mul", "mul", ["t2"], "t3", {"value": 2.0})
    m.add("Tanh", "tanh", ["t3"], "t4")
    m.add("HardSigmoid", "hsg", ["t4"], "t5", {"alpha": 0.2, "beta": 0.5})
    m.add("Dropout", "drop", ["t5"], "t6")
    m.add("Identity", "id", ["t6"], "t7")
    m.add("Conv", "g", ["t7"], "t8", {"kernel": [2, 2], "stride": [2, 2],
          "groups": 3, "flip": 1}, weight=w(3, 1, 2, 2), bias=w(3))
    m.add("GlobalMaxPool", "gmp", ["t8"], "t9")
    m.add("Flatten", "f", ["t9"], "t10", {"order": "chw"})
    m.add("Dense", "d", ["t10"], "out", weight=w(3, 3))
    out["misc_ops"] = m
    # the smallest: one 1x1 conv on one pixel
    m = Model((1, 1, 1))
    m.add("Conv", "c", ["input"], "out", {"kernel": [1, 1]}, weight=w(1, 1, 1, 1))
    out["one_conv"] = m
    return out


def rgb_area():
    m = Model((3, 8, 8), ["a", "b"], color="rgb", resize="area",
              name="fuzz_image: RGB, area")
    m.add("Conv", "c", ["input"], "t1", {"kernel": [3, 3]}, weight=w(2, 3, 3, 3))
    m.add("Relu", "r", ["t1"], "t2")
    m.add("Flatten", "f", ["t2"], "t3", {"order": "chw"})
    m.add("Dense", "d", ["t3"], "out", weight=w(2, 72))
    return m


def images():
    y, x = np.mgrid[0:10, 0:12]
    rgb = np.stack([x * 20, y * 25, (x + y) * 10], -1).astype(np.uint8)
    im = Image.fromarray(rgb, "RGB")
    gray = im.convert("L")
    out = {}

    def save(name, img, fmt, **kw):
        b = io.BytesIO()
        img.save(b, fmt, **kw)
        out[name] = b.getvalue()
    save("rgb.png", im, "PNG")
    save("gray.png", gray, "PNG")
    save("rgba.png", im.convert("RGBA"), "PNG")
    save("palette.png", im.convert("P"), "PNG")
    save("bits1.png", gray.convert("1"), "PNG")
    save("gray16.png", Image.fromarray((np.asarray(gray) * 257).astype(np.uint16)), "PNG")
    save("base.jpg", im, "JPEG", quality=80)
    save("prog.jpg", im, "JPEG", quality=80, progressive=True)
    save("gray.jpg", gray, "JPEG")
    save("444.jpg", im, "JPEG", subsampling=0)
    save("rgb.bmp", im, "BMP")
    save("palette.bmp", im.convert("P"), "BMP")
    save("gray.gif", gray, "GIF")
    save("rgb.ppm", im, "PPM")
    save("gray.pgm", gray, "PPM")
    save("rgb.tga", im, "TGA")
    save("rle.tga", im, "TGA", compression="tga_rle")
    # Radiance HDR, flat (no RLE): header, then RGBE pixels
    hdr = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 3\n"
    out["tiny.hdr"] = hdr + bytes([128, 64, 32, 129] * 6)
    return out


def npys():
    def npy(descr, shape, data, fortran=False, version=1, extra=b""):
        d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, fortran, shape)
        head = d.encode()
        n = 10 if version == 1 else 12
        pad = (-(n + len(head) + 1)) % 64
        head += b" " * pad + b"\n"
        pre = b"\x93NUMPY" + bytes([version, 0])
        pre += struct.pack("<H" if version == 1 else "<I", len(head))
        return pre + head + data + extra
    a = np.arange(6, dtype="<f4")
    out = {
        "ok_1x2x3.npy": npy("<f4", "(1, 2, 3)", a.tobytes()),
        "ok_3x1x1.npy": npy("<f4", "(3, 1, 1)", a[:3].tobytes()),
        "ok_v2.npy": npy("<f4", "(1, 1, 2)", a[:2].tobytes(), version=2),
        "f8.npy": npy("<f8", "(1, 1, 2)", a[:2].astype("<f8").tobytes()),
        "big_endian.npy": npy(">f4", "(1, 1, 2)", a[:2].astype(">f4").tobytes()),
        "fortran.npy": npy("<f4", "(1, 2, 3)", a.tobytes(), fortran=True),
        "rank4.npy": npy("<f4", "(1, 1, 2, 3)", a.tobytes()),
        "rank2.npy": npy("<f4", "(2, 3)", a.tobytes()),
        "truncated.npy": npy("<f4", "(1, 2, 3)", a[:5].tobytes()),
        "trailing.npy": npy("<f4", "(1, 1, 2)", a[:2].tobytes(), extra=b"\0" * 4),
    }
    return out


def main():
    mdir = os.path.join(HERE, "corpus", "model")
    for name, m in models().items():
        write(os.path.join(mdir, name + ".bin"), m.to_bytes())
    # the small fixtures: converted models (ONNX, Keras, Darknet) and
    # the hand-made refusals
    for src in ["fixtures/gap_head", "fixtures/ops_mix", "fixtures/theano",
                "fixtures/resnet_concat", "fixtures-keras/keras3_ops",
                "fixtures-keras/cf_hwc", "fixtures-onnx/tf2onnx_gap",
                "fixtures-darknet/features"]:
        shutil.copyfile(os.path.join(ROOT, "tests", src, "model.bin"),
                        os.path.join(mdir, src.replace("/", "_") + ".bin"))
    bad = os.path.join(ROOT, "tests", "fixtures", "bad")
    for f in ["truncated.bin", "unknown_op.bin", "conv_weight_shape.bin"]:
        shutil.copyfile(os.path.join(bad, f), os.path.join(mdir, "bad_" + f))
    for name, b in images().items():
        write(os.path.join(HERE, "corpus", "image", name), b)
    for name, b in npys().items():
        write(os.path.join(HERE, "corpus", "npy", name), b)
    write(os.path.join(HERE, "models", "rgb_area.bin"), rgb_area().to_bytes())


if __name__ == "__main__":
    main()
