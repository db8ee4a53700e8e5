"""The Python package fcn against the build's own fcn-run and fcn-detect
(bit for bit where both run the same computation), models/README.md, and
the README's Python snippet.

Run by tests/test_python.sh, which installs the package into a venv and
sets FCN_RUN, FCN_DETECT and FCN_SOURCE (the repository root)."""

import json
import os
import re
import subprocess
import threading
import time

import numpy as np
import pytest

import fcn

RUN = os.environ["FCN_RUN"]
DETECT = os.environ["FCN_DETECT"]
SRC = os.environ["FCN_SOURCE"]
MODEL = os.path.join(SRC, "models", "fashion.bin")
EXAMPLE = os.path.join(SRC, "models", "example.png")
DEMO = os.path.join(SRC, "models", "detect-demo.png")


@pytest.fixture(scope="module")
def model():
    return fcn.Model(MODEL)


def fcn_run(tmp_path, inp, *opts):
    """fcn-run's score map for inp (a path), as fcn-run wrote it."""
    out = tmp_path / "scores.npy"
    subprocess.run([RUN, MODEL, str(inp), "--out", str(out)] + list(opts),
                   check=True, stdout=subprocess.PIPE)
    return np.load(out)


def same_message(err, inp, model=MODEL):
    """Whether err's message is fcn-run's one-line error for inp (after
    "fcn-run: ", and the input's path where fcn-run names it first)."""
    p = subprocess.run([RUN, str(model), str(inp)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert p.returncode != 0
    line = p.stderr.strip()
    assert line.startswith("fcn-run: ") and "\n" not in line
    line = line[len("fcn-run: "):]
    named = line.startswith(str(inp) + ": ")
    return str(err.value) in (line, line[len(str(inp)) + 2:] if named else "")


# ---- version and info ----

def test_version():
    meson = open(os.path.join(SRC, "meson.build")).read()
    assert fcn.__version__ == re.search(r"version : '([^']+)'", meson)[1]


def test_info_against_models_readme(model):
    readme = open(os.path.join(SRC, "models", "README.md")).read()
    i = model.info
    c, h, w = map(int, re.search(r"`input_shape` = \((\d+), (\d+), (\d+)\)",
                                 readme).groups())
    assert i.trained_size == (c, h, w) == (i.in_c, i.in_h, i.in_w)
    labels = re.search(r"`labels` \((\d+)\): `([^`]+)`", readme)
    assert i.classes == int(labels[1])
    assert i.labels == [s.strip() for s in labels[2].split(",")]
    assert i.color == re.search(r"`color` = `(\w+)`", readme)[1]
    assert i.scale == pytest.approx(1 / 255)
    assert i.mean == pytest.approx(
        [float(re.search(r"`mean` = \[([\d.]+)\]", readme)[1])])
    assert i.std == pytest.approx(
        [float(re.search(r"`std` = \[([\d.]+)\]", readme)[1])])
    # "the score map has stride 4, offset 0 and a 28×28 window"
    m = re.search(r"stride (\d+), offset (\d+) and a (\d+)×(\d+) window",
                  readme)
    s, o, rh, rw = map(int, m.groups())
    g = i.geometry
    assert (g.stride, g.offset, g.rf) == ((s, s), (o, o), (rh, rw))
    assert i.min_size == (28, 28)   # VALID padding: the trained size
    assert i.resize in ("bilinear", "area")
    # README's architecture table names the file's layers (`conv1` +
    # `relu1`, ...); fc1 becomes a 5x5 convolution
    rows = re.findall(r"^\| (`\w+`(?: \+ `\w+`)*)", readme, re.M)
    assert i.n_layers_file == sum(r.count("`") // 2 for r in rows) == 14
    assert "Dense as conv" in i.summary and "5x5" in i.summary
    assert i.n_layers_fcn < i.n_layers_file
    assert model.label(1) == "Trouser"


def test_geometry_against_fcn_run(model):
    p = subprocess.run([RUN, MODEL, EXAMPLE], check=True, text=True,
                       stdout=subprocess.PIPE).stdout
    m = re.search(r"stride (\d+)x(\d+), receptive field (\d+)x(\d+), "
                  r"offset (-?\d+),(-?\d+)", p)
    sh, sw, rh, rw, oh, ow = map(int, m.groups())
    g = model.run(EXAMPLE).geometry
    assert g == fcn.Geometry(sh, sw, oh, ow, rh, rw)
    assert g.window(7, 25) == (100, 28, 28, 28)   # README's Trouser cell


# ---- run, bit for bit against fcn-run ----

def test_image_against_fcn_run(model, tmp_path):
    ref = fcn_run(tmp_path, EXAMPLE)
    scores, geometry = model.run(EXAMPLE)
    assert scores.dtype == np.float32 and scores.shape == (11, 34, 50)
    assert np.array_equal(scores, ref)
    assert np.array_equal(model.run(EXAMPLE, threads=1).scores, ref)


def test_resize_against_fcn_run(model, tmp_path):
    ref = fcn_run(tmp_path, EXAMPLE, "--resize", "112x96")
    got = model.run(EXAMPLE, resize=(112, 96)).scores
    assert got.shape == ref.shape and np.array_equal(got, ref)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 61, 45), (1, 97, 130)])
def test_array_against_fcn_run(model, tmp_path, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape)
    x = x.astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    ref = fcn_run(tmp_path, tmp_path / "x.npy")
    got = model.run(x)
    assert got.scores.shape == ((11,) + tuple((n - 28) // 4 + 1
                                              for n in shape[1:]))
    assert np.array_equal(got.scores, ref)
    # converted inputs: float64, a transposed (non-contiguous) view
    assert np.array_equal(model.run(x.astype(np.float64)).scores, ref)
    xt = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)
    assert not xt.flags.c_contiguous
    assert np.array_equal(model.run(xt).scores, ref)
    # threads, tiles and a small memory limit: the same map (tiles: up to
    # rounding, docs/engine.md)
    assert np.array_equal(model.run(x, threads=2).scores, ref)
    assert np.allclose(model.run(x, tile=3).scores, ref, rtol=0, atol=1e-6)


def test_float32_input_is_not_copied(model):
    x = np.zeros((1, 40, 40), np.float32)
    assert model._as_input(x) is x
    assert model._as_input(x.astype(np.float64)) is not x


def test_scores_are_the_callers(model):
    x = np.zeros((1, 40, 40), np.float32)
    a = model.run(x).scores
    keep = a.copy()
    b = model.run(x + 1).scores          # the same session runs again
    assert np.array_equal(a, keep) and not np.shares_memory(a, b)


def test_winograd_and_gemm_options(tmp_path):
    x = np.random.default_rng(5).standard_normal((1, 50, 50))
    ref = fcn.Model(MODEL).run(x).scores
    for kw in ({"winograd": "never"}, {"winograd": "always"},
               {"gemm": "blas"}, {"gap": "local"}):
        got = fcn.Model(MODEL, **kw).run(x).scores
        assert np.allclose(got, ref, rtol=0, atol=1e-5), kw


def _has_bf16():
    with open("/proc/cpuinfo") as f:
        return " avx512_bf16" in f.read()


def test_precision_bf16():
    x = np.random.default_rng(6).random((1, 60, 70))
    ref = fcn.Model(MODEL).run(x).scores
    if not _has_bf16() or os.environ.get("FCN_ISA") not in (None, "avx512"):
        with pytest.raises(fcn.UnsupportedError, match="bf16"):
            fcn.Model(MODEL, precision="bf16")
        return
    got = fcn.Model(MODEL, precision="bf16").run(x).scores
    # bf16 inputs (8-bit significands): near fp32, not the same
    assert not np.array_equal(got, ref)
    assert np.abs(got - ref).max() < 0.05
    assert (got.argmax(0) == ref.argmax(0)).mean() >= 0.9
    with pytest.raises(fcn.ArgumentError):
        fcn.Model(MODEL, precision="fp16")


def test_stride_divisor(tmp_path):
    # the same map as fcn-run --stride-divisor (bit for bit), stride 4/K;
    # tests/test_stride_divisor.py checks the cells against numpy
    x = np.random.default_rng(7).random((1, 60, 70)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    for k in (2, 4):
        r = fcn.Model(MODEL, stride_divisor=k).run(x)
        assert r.scores.shape == (11, (60 - 28) // (4 // k) + 1,
                                  (70 - 28) // (4 // k) + 1)
        assert r.geometry.stride_h == 4 // k and r.geometry.rf_h == 28
        ref = fcn_run(tmp_path, tmp_path / "x.npy", "--stride-divisor",
                      str(k))
        assert np.array_equal(r.scores, ref)
    with pytest.raises(fcn.ArgumentError, match="does not divide"):
        fcn.Model(MODEL, stride_divisor=3)
    with pytest.raises(fcn.ArgumentError):
        fcn.Model(MODEL, stride_divisor=-1)


def test_sessions_pooled(model):
    m = fcn.Model(MODEL, sessions=2)
    x = np.zeros((1, 30, 30), np.float32)
    m.run(x)
    m.run(x)
    assert len(m._pool) == 1
    for n in (31, 32, 33, 34):
        m.run(np.zeros((1, n, n), np.float32))
    assert len(m._pool) == 2
    m.clear_sessions()
    assert len(m._pool) == 0


# ---- errors: FcnError with fcn's own message ----

def test_missing_model():
    with pytest.raises(fcn.FileError) as e:
        fcn.Model("/nonexistent/fashion.bin")
    assert isinstance(e.value, fcn.FcnError) and isinstance(e.value, OSError)
    assert same_message(e, EXAMPLE, "/nonexistent/fashion.bin")


def test_bad_model_bytes(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"this is not a model.bin at all" * 10)
    with pytest.raises(fcn.FormatError) as e:
        fcn.Model(bad)
    assert same_message(e, EXAMPLE, bad)
    with pytest.raises(fcn.FcnError) as e:
        fcn.Model(bad.read_bytes())
    assert "magic" in str(e.value)
    # a truncated model
    data = open(MODEL, "rb").read()
    (tmp_path / "cut.bin").write_bytes(data[:len(data) // 2])
    with pytest.raises(fcn.FcnError) as e:
        fcn.Model(tmp_path / "cut.bin")
    assert same_message(e, EXAMPLE, tmp_path / "cut.bin")
    assert fcn.Model(data).info == fcn.Model(MODEL).info  # from memory


def test_missing_and_bad_image(model, tmp_path):
    with pytest.raises(fcn.FileError) as e:
        model.run(tmp_path / "none.png")
    assert same_message(e, tmp_path / "none.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(fcn.FcnError) as e:
        model.run(tmp_path / "junk.png")
    assert same_message(e, tmp_path / "junk.png")
    with pytest.raises(fcn.NoMemoryError, match="pixels"):
        fcn.Model(MODEL, max_pixels=1000).run(EXAMPLE)


def test_wrong_shapes(model, tmp_path):
    x = np.zeros((1, 10, 10), np.float32)
    np.save(tmp_path / "small.npy", x)
    with pytest.raises(fcn.ShapeError) as e:   # the library's refusal
        model.run(x)
    assert isinstance(e.value, ValueError)
    assert same_message(e, tmp_path / "small.npy")
    for bad in (np.zeros((2, 40, 40)), np.zeros((40, 40)),
                np.zeros((1, 1, 40, 40))):
        with pytest.raises(fcn.ShapeError, match=r"\(C, H, W\)"):
            model.run(bad)
    with pytest.raises(TypeError):
        model.run(np.array([[["a"]]]))
    with pytest.raises(fcn.ShapeError):
        model.detect(np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(TypeError):
        model.detect(np.zeros((40, 40), np.float32))


def test_bad_options(model):
    with pytest.raises(fcn.ArgumentError, match="gap"):
        fcn.Model(MODEL, gap="global")
    with pytest.raises(fcn.ArgumentError):
        fcn.Model(MODEL, max_pixels=-1)          # the library's FCN_ERR_ARG
    with pytest.raises(fcn.ArgumentError, match="threads"):
        model.run(EXAMPLE, threads=-1)
    with pytest.raises(TypeError):
        model.run(EXAMPLE, threads=1.5)
    with pytest.raises(fcn.ArgumentError, match="resize"):
        model.run(EXAMPLE, resize=(0, 10))
    with pytest.raises(fcn.ArgumentError, match="resize"):
        model.run(np.zeros((1, 30, 30)), resize=(30, 30))
    with pytest.raises(fcn.NoMemoryError, match="memory limit"):
        model.run(np.zeros((1, 300, 300)), mem_limit=1000)
    with pytest.raises(fcn.ArgumentError, match="no class 'Hat'"):
        model.detect(DEMO, classes=["Hat"])
    with pytest.raises(fcn.FcnError, match="scale"):
        model.detect(DEMO, scales=[0.5, -1])


# ---- threads ----

def test_two_threads(model):
    x = np.random.default_rng(9).standard_normal((1, 700, 700))
    x = x.astype(np.float32)
    ref = model.run(x, threads=1).scores
    results, spans = {}, {}
    start = threading.Barrier(2)

    def work(k):
        start.wait()
        out = []
        for _ in range(3):
            t0 = time.perf_counter()
            out.append(model.run(x, threads=1).scores)
            spans.setdefault(k, []).append((t0, time.perf_counter()))
        results[k] = out

    cpu0, wall0 = time.process_time(), time.perf_counter()
    th = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for k in range(2):
        assert all(np.array_equal(r, ref) for r in results[k])
    # the GIL is released: a run of one thread overlaps a run of the other
    # (which it could not if the call held the GIL throughout)
    assert any(a0 < b1 and b0 < a1 for a0, a1 in spans[0]
               for b0, b1 in spans[1])
    print("two threads: %.2f s wall, %.2f s CPU (%.2f cores busy)"
          % (wall, cpu, cpu / wall))
    assert len(model._pool) >= 2  # each thread had its own session


# ---- detect, against fcn-detect's JSON ----

def fcn_detect(tmp_path, *opts):
    out = tmp_path / "det.json"
    subprocess.run([DETECT, MODEL, DEMO, "--quiet", "--json", str(out)]
                   + list(opts), check=True)
    return json.loads(out.read_text())


def same_detections(got, ref):
    assert len(got) == len(ref["detections"]) > 0
    for g, r in zip(got, ref["detections"]):
        assert (g["label"], g["class"], list(g["cell"]), g["padded"]) == \
            (r["label"], r["class"], r["cell"], r["padded"])
        assert g["score"] == pytest.approx(r["score"], rel=2e-6)
        assert g["scale"] == pytest.approx(r["scale"], rel=1e-6)
        assert list(g["box"]) == pytest.approx(r["box"], rel=1e-7, abs=1e-6)


def test_detect_defaults(model, tmp_path):
    ref = fcn_detect(tmp_path)
    got = model.detect(DEMO)
    same_detections(got, ref)
    assert len(got.levels) == len(ref["scales"])
    for lv, r in zip(got.levels, ref["scales"]):
        assert (lv["width"], lv["height"], list(lv["score_map"])) == \
            (r["width"], r["height"], r["score_map"])
        assert lv["geometry"].stride == tuple(r["stride"])
        assert lv["padded_cells"]["count"] == r["padded_cells"]["count"]
    assert got.heatmap is None


def test_detect_options(model, tmp_path):
    ref = fcn_detect(tmp_path, "--threshold", "0.6", "--iou", "0.5",
                     "--scales", "1,0.8,0.7", "--classes", "Trouser,Bag,5",
                     "--max-detections", "7")
    got = model.detect(DEMO, threshold=0.6, iou=0.5, scales=[1, 0.8, 0.7],
                       classes=["Trouser", "Bag", 5], max_detections=7)
    same_detections(got, ref)
    ref = fcn_detect(tmp_path, "--min-scale", "0.6", "--max-scale", "1.1",
                     "--scale-step", "0.85")
    got = model.detect(DEMO, scales=fcn.pyramid_scales(0.6, 1.1, 0.85))
    same_detections(got, ref)


def test_detect_array_and_heatmap(model):
    from PIL import Image  # an independent decoder
    px = np.asarray(Image.open(DEMO).convert("L"))
    a = model.detect(px, heatmap="Trouser")
    b = model.detect(DEMO)
    assert a == b
    assert a.heatmap.shape == px.shape and a.heatmap.dtype == np.float32
    assert 0 <= a.heatmap.min() and a.heatmap.max() <= 1
    best = max(d["score"] for d in b if d["label"] == "Trouser")
    assert a.heatmap.max() == pytest.approx(best, abs=1e-3)


# ---- the README's snippet ----

def test_readme_snippet(tmp_path):
    readme = open(os.path.join(SRC, "README.md")).read()
    block = re.search(r"<!-- python-snippet -->\s*```python\n(.*?)```\s*"
                      r"<!-- /python-snippet -->", readme, re.S)
    assert block, "README.md: no <!-- python-snippet --> block"
    cwd = os.getcwd()
    os.chdir(SRC)   # the snippet names models/... from the repository root
    try:
        env = {}
        exec(compile(block[1], "README.md python-snippet", "exec"), env)
    finally:
        os.chdir(cwd)
    assert isinstance(env["m"], fcn.Model)
