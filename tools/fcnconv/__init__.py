"""Converters from other frameworks' files to fcn's model.bin.

    convert(path, options) -> modelbin.Model

reads a classifier from ONNX (.onnx), Keras (.h5, .hdf5, .keras, TF.js
model.json) or Darknet (.cfg), the source kind taken from the file name, and
applies the options' preprocessing overrides. `options` is an object with the
attributes tools/fcn-convert's command line gives (an argparse.Namespace);
each is optional: input_size (C, H, W), mean, std, scale, bgr, name, labels
(a file), theano (Keras), weights (Darknet .weights file).

Modules:
  modelbin      write and read model.bin (docs/model-format.md)
  window        window arithmetic shared by the converters
  validate      fcn's loader rules (ranges, weights, shapes at the trained
                size, geometry): convert() checks every model with them, so
                nothing fcn would refuse is ever written
  onnx_src, keras_src, darknet_src   one source kind each

Every source module has the same shape: `convert(path, options) -> Model`,
and a dispatch table (Handlers) from the source's op types, layer classes or
section kinds to the converter methods that translate them. A source module
raises ConvertError with a one-line message for anything it cannot translate
(naming the op or layer, its node name, and what is supported); values out of
the range fcn accepts are refused with validate's rules, early in the front
end (with the source's names) and again on the finished model. The
converters translate the classifier faithfully; the FCN conversion itself is
done by fcn's loader.
"""
import importlib
import os

# Source kinds: the file name endings each source module reads.
SOURCES = (((".onnx",), "onnx_src"),
           ((".h5", ".hdf5", ".keras", ".json"), "keras_src"),
           ((".cfg",), "darknet_src"))


class ConvertError(Exception):
    """A one-line, user-facing reason why a file cannot be converted."""


class Handlers(dict):
    """A source module's dispatch table: op type, layer class or section kind
    -> the function translating it, called as handler(converter, node, ...).
    Filled by decorating the functions with @TABLE.on(name, alias, ...);
    `canonical` maps every name to the first one of its registration."""

    def __init__(self):
        super().__init__()
        self.canonical = {}

    def on(self, *names):
        def register(handler):
            for name in names:
                self[name] = handler
                self.canonical[name] = names[0]
            return handler
        return register


def convert(path, options):
    """The classifier in `path` as a modelbin.Model, options applied."""
    if not os.path.isfile(path):
        raise ConvertError("%s: no such file" % path)
    low = path.lower()
    for endings, module in SOURCES:
        if low.endswith(endings):
            src = importlib.import_module("." + module, __name__)
            break
    else:
        raise ConvertError("%s: unknown source type (expected .onnx, .h5, .keras, "
                           "model.json or .cfg)" % path)
    model = src.convert(path, options)
    apply_overrides(model, options)
    from .validate import check_model
    check_model(model, path)
    return model


def apply_overrides(model, options):
    """What the options say about the input and preprocessing replaces what
    the source says."""
    c = model.input_shape[0]
    input_size = getattr(options, "input_size", None)
    if input_size:
        model.meta["input_shape"] = list(input_size)
        c = input_size[0]
    for key in ("mean", "std"):
        v = getattr(options, key, None)
        if v is not None:
            if len(v) not in (1, c):
                raise ConvertError("--%s needs 1 or %d values" % (key, c))
            model.meta[key] = v
    if getattr(options, "scale", None) is not None:
        model.meta["scale"] = options.scale
    if getattr(options, "bgr", False):
        model.meta["color"] = "bgr"
    if getattr(options, "name", None):
        model.meta["name"] = options.name
    if getattr(options, "labels", None):
        try:
            with open(options.labels, encoding="utf-8") as f:
                model.labels = [ln.strip() for ln in f if ln.strip()]
        except UnicodeDecodeError:
            raise ConvertError("--labels %s: not UTF-8 text" % options.labels)
