"""Converters from other frameworks' files to fcn's model.bin.

Each source module exposes `convert(path, args) -> fcnmodel.Model` and raises
ConvertError with a one-line message for anything it cannot translate
(naming the op or layer, its node name, and what is supported). The
converters translate the classifier faithfully; the FCN conversion itself is
done by fcn's loader.
"""


class ConvertError(Exception):
    """A one-line, user-facing reason why a file cannot be converted."""
