"""fcn: fully convolutional inference of CNN classifiers on CPU, from Python.

    import fcn
    m = fcn.Model("models/fashion.bin")
    scores, geometry = m.run("models/example.png")   # (classes, H', W')
    boxes = m.detect("models/detect-demo.png")       # list of dicts

The API reference is docs/python.md. Computation releases the GIL, so
threads sharing one Model run at once (each gets its own session).
"""

from . import _fcn
from ._model import (Detections, Geometry, Model, ModelInfo, Result,
                     pyramid_scales)
from .errors import (ArgumentError, FcnError, FileError, FormatError,
                     NoMemoryError, ShapeError, UnsupportedError)

__version__ = _fcn.version()


def default_threads() -> int:
    """The thread count a run uses with threads=0 (fcn_default_threads:
    all cores, or OMP_NUM_THREADS)."""
    return _fcn.default_threads()


__all__ = ["Model", "ModelInfo", "Result", "Geometry", "Detections",
           "pyramid_scales", "default_threads", "FcnError", "FileError",
           "FormatError", "UnsupportedError", "ShapeError", "NoMemoryError",
           "ArgumentError", "__version__"]
