"""Model.map_size and Model.run_region (streamed maps and regions of image
files) against Model.run on the whole image, bit for bit (fcn's exactness
promise; the values themselves are checked against fcn-run and the
independent references by test_fcn.py and the C tests), and against the
streamed fcn-run's --cells geometry and errors.

Run by tests/test_python.sh (FCN_RUN, FCN_SOURCE set)."""

import os
import re
import subprocess
import threading
import time

import numpy as np
import pytest
from PIL import Image

import fcn

RUN = os.environ["FCN_RUN"]
SRC = os.environ["FCN_SOURCE"]
MODEL = os.path.join(SRC, "models", "fashion.bin")
EXAMPLE = os.path.join(SRC, "models", "example.png")


@pytest.fixture(scope="module")
def model():
    return fcn.Model(MODEL)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 300 x 420 gray TIFF (libvips reads it window by window): the
    example photo tiled, with noise, so that every band has content."""
    g = np.asarray(Image.open(EXAMPLE).convert("L"), dtype=np.int16)
    a = np.tile(g, (2, 2))[:300, :420]
    a = a + np.random.default_rng(5).integers(-20, 21, a.shape)
    path = tmp_path_factory.mktemp("region") / "scene.tif"
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path)
    return str(path)


def test_map_size(model, scene):
    assert model.map_size(160, 224) == model.run(EXAMPLE).scores.shape[1:]
    assert model.map_size(300, 420) == model.run(scene).scores.shape[1:] \
        == ((300 - 28) // 4 + 1, (420 - 28) // 4 + 1)
    assert model.map_size(28, 28) == (1, 1)
    assert model.map_size(1 << 20, 1 << 20) == ((1 << 18) - 6, (1 << 18) - 6)
    with pytest.raises(fcn.ShapeError):
        model.map_size(27, 100)
    with pytest.raises(fcn.ArgumentError):
        model.map_size(0, 100)
    with pytest.raises(fcn.ArgumentError):
        model.map_size(100, (1 << 20) + 1)


@pytest.mark.parametrize("image", ["example", "scene"])
def test_whole_map_equals_run(model, scene, image):
    path = EXAMPLE if image == "example" else scene
    ref = model.run(path)
    got = model.run_region(path)
    assert got.scores.dtype == np.float32 and got.scores.flags.c_contiguous
    assert got.scores.shape == ref.scores.shape
    assert np.array_equal(got.scores, ref.scores)
    assert got.geometry == ref.geometry


@pytest.mark.parametrize("cells", [(0, 0, 1, 1), (5, 7, 10, 20),
                                   (60, 0, 9, 99), (0, 98, 69, 1)])
def test_region_equals_cells_of_run(model, scene, cells):
    ref = model.run(scene)
    r, c, h, w = cells
    got = model.run_region(scene, cells=cells, threads=1)
    assert got.scores.shape == (11, h, w)
    assert np.array_equal(got.scores, ref.scores[:, r:r + h, c:c + w])
    g = ref.geometry
    assert got.geometry == g._replace(offset_h=g.offset_h + r * g.stride_h,
                                      offset_w=g.offset_w + c * g.stride_w)


def test_small_blocks_and_bands(model, scene):
    """Many blocks (256 KiB: 8 blocks, fcn-run says) and the bands of a
    sharded job (docs/scale-out.md: rows [floor(I*H/N), floor((I+1)*H/N)))
    put together give the whole map."""
    ref = model.run(scene).scores
    got = model.run_region(scene, mem_limit=256 << 10)
    assert np.array_equal(got.scores, ref)
    rows, cols = model.map_size(300, 420)
    n = 4
    bands = [model.run_region(scene, cells=(i * rows // n, 0,
                                            (i + 1) * rows // n
                                            - i * rows // n, cols)).scores
             for i in range(n)]
    assert np.array_equal(np.concatenate(bands, axis=1), ref)


def test_geometry_as_streamed_fcn_run(model, scene):
    p = subprocess.run([RUN, MODEL, scene, "--cells", "12,3,5,6"],
                       check=True, text=True, stdout=subprocess.PIPE).stdout
    m = re.search(r"stride (\d+)x(\d+), receptive field (\d+)x(\d+), "
                  r"offset (-?\d+),(-?\d+)", p)
    sh, sw, rh, rw, oh, ow = map(int, m.groups())
    g = model.run_region(scene, cells=(12, 3, 5, 6)).geometry
    assert g == fcn.Geometry(sh, sw, oh, ow, rh, rw)


def fcn_run_error(*args):
    p = subprocess.run([RUN, MODEL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert p.returncode != 0
    line = p.stderr.strip()
    assert line.startswith("fcn-run: ") and "\n" not in line
    return line[len("fcn-run: "):]


def test_bad_regions(model, scene):
    # outside the 69 x 99 map: fcn-run --cells's error, word for word
    for cells in [(60, 0, 10, 99), (0, 98, 1, 2), (69, 0, 1, 1)]:
        with pytest.raises(fcn.ArgumentError) as e:
            model.run_region(scene, cells=cells)
        line = fcn_run_error(scene, "--cells", ",".join(map(str, cells)))
        assert str(e.value) in line and "cells" in str(e.value)
    for cells in [(0, 0, 0, 5), (-1, 0, 2, 2), (0, 0, 2), (0, 0, 2, 2, 2),
                  (0, 0, 1 << 31, 1), "0,0,1,1", (0.5, 0, 1, 1)]:
        with pytest.raises(fcn.ArgumentError):
            model.run_region(scene, cells=cells)
    with pytest.raises(fcn.ArgumentError):
        model.run_region(scene, threads=-1)
    with pytest.raises(fcn.ArgumentError):
        model.run_region(EXAMPLE, level=1)   # a PNG has no levels


def test_bad_files(model, tmp_path):
    with pytest.raises(fcn.FileError) as e:
        model.run_region(tmp_path / "missing.png")
    assert "missing.png" in str(e.value)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 40), np.uint8)).save(small)
    with pytest.raises(fcn.ShapeError):
        model.run_region(small)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    with pytest.raises(fcn.FcnError):
        model.run_region(bad)


def test_two_threads(model, tmp_path):
    """The GIL is released while a region runs: two threads' runs
    overlap in time."""
    a = np.random.default_rng(9).integers(0, 256, (700, 700), np.uint8)
    path = tmp_path / "noise.png"
    Image.fromarray(a).save(path)
    ref = model.run(path, threads=1).scores
    spans, results = {}, {}
    start = threading.Barrier(2)

    def work(k):
        start.wait()
        for _ in range(3):
            t0 = time.perf_counter()
            s = model.run_region(path, threads=1).scores
            spans.setdefault(k, []).append((t0, time.perf_counter()))
            results.setdefault(k, []).append(s)

    th = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert all(np.array_equal(s, ref) for k in results for s in results[k])
    assert any(a0 < b1 and b0 < a1 for a0, a1 in spans[0]
               for b0, b1 in spans[1])


def test_image_size_window_kernels(model, scene):
    assert model.image_size(scene) == (300, 420)
    assert model.image_size(EXAMPLE) == (160, 224)
    assert model.input_window(300, 420) == (0, 0, 300, 420)
    # the cells' receptive fields, within the image
    y, x, h, w = model.input_window(300, 420, (5, 7, 10, 20))
    assert y <= 5 * 4 and y + h >= 14 * 4 + 28 and y >= 0 and y + h <= 300
    assert x <= 7 * 4 and x + w >= 26 * 4 + 28 and x >= 0 and x + w <= 420
    with pytest.raises(fcn.ArgumentError):
        model.input_window(300, 420, (60, 0, 10, 99))
    with pytest.raises(fcn.FileError):
        model.image_size(scene + ".missing")
    assert model.kernels == fcn.Model(MODEL).kernels
    assert model.kernels != fcn.Model(MODEL, gemm="blas").kernels
