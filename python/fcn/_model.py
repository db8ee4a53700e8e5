"""fcn.Model: a loaded classifier, run as a fully convolutional network."""

import collections
import dataclasses
import operator
import os
import threading
from typing import NamedTuple, Optional, Tuple

import numpy as np

from . import _fcn
from .errors import ArgumentError, ShapeError

_GAP = {"window": 0, "local": 1}
_WINOGRAD = {"auto": 0, "never": 1, "always": 2}
_GEMM = {"auto": 0, "blas": 1}
_PRECISION = {"fp32": 0, "bf16": 1}


class Geometry(NamedTuple):
    """Where score-map cell (i, j) looks: the input window whose top-left
    corner is (i*stride_h + offset_h, j*stride_w + offset_w) (row, column)
    and whose size is rf_h x rf_w pixels (fcn_geometry)."""

    stride_h: int
    stride_w: int
    offset_h: int
    offset_w: int
    rf_h: int
    rf_w: int

    @property
    def stride(self) -> Tuple[int, int]:
        return (self.stride_h, self.stride_w)

    @property
    def offset(self) -> Tuple[int, int]:
        return (self.offset_h, self.offset_w)

    @property
    def rf(self) -> Tuple[int, int]:
        return (self.rf_h, self.rf_w)

    def window(self, i: int, j: int) -> Tuple[int, int, int, int]:
        """Cell (i, j)'s window in input pixels as (x, y, w, h)."""
        return (j * self.stride_w + self.offset_w,
                i * self.stride_h + self.offset_h, self.rf_w, self.rf_h)


class Result(NamedTuple):
    """What Model.run returns; unpacks as ``scores, geometry = m.run(x)``.

    scores: a new float32 array (classes, H', W'), the caller's to keep (the
    session's own buffer is copied into it)."""

    scores: np.ndarray
    geometry: Geometry


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What fcn_model_get_info says, plus the labels and the summary."""

    in_c: int               # the size the classifier was trained at
    in_h: int
    in_w: int
    classes: int
    labels: Optional[list]  # one str per class, or None
    geometry: Geometry      # of the score map, whatever the input size
    min_h: int              # the smallest input that gives a score map
    min_w: int
    color: str              # "rgb", "bgr" or "gray"
    resize: str             # the resize filter: "bilinear" or "area"
    scale: float            # the network input is (x*scale - mean[c]) / std[c]
    mean: tuple
    std: tuple
    name: str
    n_layers_file: int      # layers in the file
    n_layers_fcn: int       # layers after the conversion
    weight_bytes: int       # weights held for running (packed copies)
    summary: str = dataclasses.field(repr=False)  # the converted layers

    @property
    def trained_size(self) -> Tuple[int, int, int]:
        return (self.in_c, self.in_h, self.in_w)

    @property
    def min_size(self) -> Tuple[int, int]:
        return (self.min_h, self.min_w)


class Detections(list):
    """Model.detect's result: a list of detections (dicts, best first), with
    ``levels`` (one dict per scale, as it ran) and ``heatmap`` (a float32
    (height, width) array when asked for, else None)."""

    levels: list
    heatmap: Optional[np.ndarray]


def _choice(name, value, table):
    if value not in table:
        raise ArgumentError("%s must be one of %s, not %r"
                            % (name, ", ".join(map(repr, table)), value))
    return table[value]


def _count(name, value):
    """A non-negative integer option (TypeError for a float or a str)."""
    v = operator.index(value)
    if v < 0:
        raise ArgumentError("%s must be >= 0, not %d" % (name, v))
    return v


def _size(resize):
    """resize=(width, height), each 1 to 65536."""
    w, h = map(operator.index, resize)
    if not (0 < w <= 65536 and 0 < h <= 65536):
        raise ArgumentError("resize needs (width, height), each from 1 to "
                            "65536, not %r" % (tuple(resize),))
    return w, h


class _Pool:
    """Idle sessions (and detectors) by key, least recently used first.

    An object is taken out while a thread uses it and put back after, so two
    threads never share one; the lock guards only the dictionary, never a
    computation. At most `keep` idle objects are kept."""

    def __init__(self, keep):
        self._lock = threading.Lock()
        self._idle = collections.OrderedDict()  # (key, serial) -> object
        self._serial = 0
        self.keep = keep

    def take(self, key, make):
        with self._lock:
            for k in reversed(self._idle):
                if k[0] == key:
                    return self._idle.pop(k)
        return make()  # outside the lock: planning takes time

    def give(self, key, obj):
        with self._lock:
            self._serial += 1
            self._idle[(key, self._serial)] = obj
            while len(self._idle) > self.keep:
                self._idle.popitem(last=False)

    def clear(self):
        with self._lock:
            self._idle.clear()

    def __len__(self):
        return len(self._idle)


class Model:
    """A classifier loaded from model.bin and converted to a fully
    convolutional network (fcn_model_load).

    source: a path (str or os.PathLike) or the file's bytes.
    gap: how a global-pooling head converts, "window" (every cell equals
    the classifier on its crop) or "local" (per location). winograd:
    "auto", "never" or "always" (which 3x3 convolutions run as Winograd).
    gemm: "auto" (fcn's kernels) or "blas" (OpenBLAS SGEMM). max_pixels:
    the largest image decoded or resized (None: 10^8). sessions: how many
    idle sessions (one per input size and options) are kept for reuse.
    precision: "fp32" or "bf16" (weights and GEMM inputs rounded to
    bfloat16, float32 sums; needs AVX512_BF16, else fcn.Error).
    stride_divisor: K > 1 gives score maps K times finer than the
    network's stride (cells stride/K pixels apart, each the classifier on
    its window for VALID models; K must divide the stride, else
    fcn.Error); 1 or 0: none.
    """

    def __init__(self, source, gap="window", winograd="auto", gemm="auto",
                 max_pixels=None, sessions=4, precision="fp32",
                 stride_divisor=1):
        args = (_choice("gap", gap, _GAP),
                _choice("winograd", winograd, _WINOGRAD),
                _choice("gemm", gemm, _GEMM),
                0 if max_pixels is None else operator.index(max_pixels),
                _choice("precision", precision, _PRECISION),
                operator.index(stride_divisor))
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._m = _fcn.load(source, True, *args)
        else:
            self._m = _fcn.load(os.fspath(source), False, *args)
        self._gemm = args[2]
        d = self._m.info()
        d["geometry"] = Geometry(*d["geometry"])
        self._info = ModelInfo(**d)
        self._pool = _Pool(_count("sessions", sessions))

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def labels(self) -> Optional[list]:
        return self._info.labels

    def label(self, cls: int) -> str:
        """Class cls's label ("class N" when the model has none)."""
        labels = self._info.labels
        return labels[cls] if labels and labels[cls] is not None \
            else "class %d" % cls

    def _use(self, key, make, call):
        obj = self._pool.take(key, make)
        result = call(obj)
        self._pool.give(key, obj)  # after an error it is dropped (freed)
        return result

    def clear_sessions(self):
        """Free the idle sessions and detectors kept for reuse."""
        self._pool.clear()

    def run(self, x, threads=0, mem_limit=0, tile=0, resize=None) -> Result:
        """Run on x: a float32 array (C, H, W) used as is (a C-contiguous
        float32 array without a copy; others are converted), or an image's
        path, decoded and preprocessed as the model says (fcn-run does the
        same), optionally resized first to resize=(width, height).

        threads (0: all cores), mem_limit (bytes; 0: 512 MiB) and tile are
        fcn_session_options. Returns Result(scores, geometry)."""
        opts = (_count("threads", threads), _count("mem_limit", mem_limit),
                _count("tile", tile))
        if isinstance(x, (str, os.PathLike)):
            rw, rh = (0, 0) if resize is None else _size(resize)
            img = _fcn.decode(self._m, os.fspath(x), rh, rw)
            h, w, _ = img.size
            return self._run((h, w) + opts, lambda s: s.run_image(img))
        if resize is not None:
            raise ArgumentError("resize applies to an image path, not an "
                                "array")
        arr = self._as_input(x)
        return self._run(arr.shape[1:] + opts, lambda s: s.run(arr))

    def map_size(self, height, width) -> Tuple[int, int]:
        """The score map's size (rows, cols) for a height x width input,
        without a session (fcn_model_map_size); ShapeError for an input
        smaller than the network needs."""
        return _fcn.map_size(self._m, operator.index(height),
                             operator.index(width))

    def image_size(self, path, level=0) -> Tuple[int, int]:
        """The image file's size (height, width) as run_region sees it
        (fcn_source_open: the orientation applied; level: a pyramid's
        level). Reads the header of a file read window by window (TIFF);
        other files are decoded to know."""
        return _fcn.image_size(self._m, os.fspath(path),
                               _count("level", level))

    def input_window(self, height, width, cells=None,
                     mem_limit=0) -> Tuple[int, int, int, int]:
        """The input pixels (y, x, h, w) from which the cells=(row, col,
        height, width) of a height x width image's map are computed
        (fcn_session_input_window of their region session; cells None:
        the whole map), as fcn-run --shard's manifests record it."""
        cells = (0, 0) + self.map_size(height, width) if cells is None \
            else self._cells(cells)
        return _fcn.input_window(self._m, operator.index(height),
                                 operator.index(width), cells,
                                 _count("mem_limit", mem_limit))

    @property
    def kernels(self) -> str:
        """What runs the convolutions' matrix products for this model
        (fcn_gemm_info of its gemm option): fcn's kernel for this CPU or
        OpenBLAS; fcn-run --shard's manifests record it."""
        return _fcn.gemm_info(self._gemm)

    @staticmethod
    def _cells(cells):
        try:
            cells = tuple(map(operator.index, cells))
        except TypeError:
            raise ArgumentError("cells must be (row, col, height, width) "
                                "integers, not %r" % (cells,))
        if len(cells) != 4 or min(cells[:2]) < 0 or min(cells[2:]) < 1 or \
                max(cells) >= 1 << 31:
            raise ArgumentError("cells must be (row, col, height, width) "
                                "with row, col >= 0 and height, width >= 1, "
                                "not %r" % (cells,))
        return cells

    def run_region(self, path, cells=None, threads=0, mem_limit=0,
                   level=0) -> Result:
        """The score map of an image file, or the cells=(row, col, height,
        width) region of it, computed streamed (fcn_stream_run: block by
        block from windows of the image, each block within mem_limit
        bytes; 0: 512 MiB). level: a pyramid's level (TIFF page,
        OpenSlide level). The cells equal those of run(path) on the whole
        image bit for bit; the geometry's offsets are the region's (its
        cell (0, 0)), as the streamed fcn-run --cells reports them.
        Returns Result(scores (classes, height, width), geometry)."""
        if cells is not None:
            cells = self._cells(cells)
        scores, g = _fcn.run_region(
            self._m, os.fspath(path), cells, _count("threads", threads),
            _count("mem_limit", mem_limit), _count("level", level))
        return Result(scores, Geometry(*g))

    def _run(self, key, call):
        scores, g = self._use(key, lambda: _fcn.session(self._m, *key), call)
        return Result(scores, Geometry(*g))

    def _as_input(self, x):
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise TypeError("fcn: an input array must be of numbers (float32 "
                            "preferred), not %s" % a.dtype)
        if a.ndim != 3 or a.shape[0] != self._info.in_c:
            raise ShapeError("fcn: an input array must be (C, H, W) with "
                             "C = %d, not %s" % (self._info.in_c, a.shape))
        return np.ascontiguousarray(a, dtype=np.float32)

    def detect(self, image, threshold=None, iou=None, scales=None,
               classes=None, max_detections=0, heatmap=None, threads=0,
               mem_limit=0) -> Detections:
        """Detect objects over a scale pyramid (fcn_detector_run).

        image: a path, or a uint8 array (H, W) or (H, W, C) with the model's
        channel count (RGB). threshold (default 0.9): a cell's score for a
        class must reach it; iou (default 0.3): per-class suppression
        across scales; scales: the pyramid's factors (default 0.9, 0.75,
        0.6; fcn.pyramid_scales makes a geometric one); classes: labels or
        indices to detect (default: all but "background"); max_detections:
        keep the best N (0: all); heatmap: a label or index whose score map,
        resampled to the image, comes back in the result's ``heatmap``.

        Returns Detections, a list of dicts, best first: label, class,
        score, box (x, y, w, h in image pixels, clipped), scale, level,
        cell (i, j) and padded."""
        dscales, dthr, diou = _fcn.detect_defaults()
        mask = None
        if classes is not None:
            on = bytearray(self._info.classes)
            for c in ([classes] if isinstance(classes, (str, int))
                      else classes):
                on[self._class_index(c)] = 1
            mask = bytes(on)
        heat = -1 if heatmap is None else self._class_index(heatmap)
        key = ("detect",
               tuple(float(s) for s in (dscales if scales is None
                                        else scales)),
               float(dthr if threshold is None else threshold),
               float(diou if iou is None else iou),
               _count("max_detections", max_detections), mask, heat,
               _count("threads", threads), _count("mem_limit", mem_limit))
        img = self._as_image(image)
        dets, levels, heat_map = self._use(
            key, lambda: _fcn.detector(self._m, *key[1:]),
            lambda d: d.run(img))
        out = Detections(
            {"label": self.label(c), "class": c, "score": s, "box": b,
             "scale": sc, "level": lv, "cell": cell, "padded": p}
            for c, s, b, sc, lv, cell, p in dets)
        for lv in levels:
            if lv["skipped"] is None:
                lv["geometry"] = Geometry(*lv["geometry"])
        out.levels = levels
        out.heatmap = heat_map
        return out

    def _class_index(self, c):
        n = self._info.classes
        if isinstance(c, str):
            for k in range(n):
                if self.label(k) == c:
                    return k
            raise ArgumentError("the model has no class %r (classes: %s)"
                                % (c, ", ".join(map(self.label, range(n)))))
        k = operator.index(c)
        if not 0 <= k < n:
            raise ArgumentError("class %d: the model has %d classes" % (k, n))
        return k

    def _as_image(self, image):
        if isinstance(image, (str, os.PathLike)):
            return _fcn.decode(self._m, os.fspath(image), 0, 0)
        a = np.asarray(image)
        if a.dtype != np.uint8:
            raise TypeError("fcn: an image array must be uint8, not %s"
                            % a.dtype)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3 or a.shape[2] != self._info.in_c:
            raise ShapeError("fcn: an image array must be (H, W) or (H, W, "
                             "C) with C = %d, not %s"
                             % (self._info.in_c, np.shape(image)))
        return _fcn.image(np.ascontiguousarray(a))

    def __repr__(self):
        i = self._info
        return "<fcn.Model %r: %dx%dx%d in, %d classes>" % (
            i.name, i.in_c, i.in_h, i.in_w, i.classes)


def pyramid_scales(min_scale=0.55, max_scale=0.9, step=0.8):
    """The scales max_scale * step**k down to min_scale
    (fcn_pyramid_scales; fcn-detect's --min-scale, --max-scale and
    --scale-step, with its defaults)."""
    return _fcn.pyramid_scales(min_scale, max_scale, step)
