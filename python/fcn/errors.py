"""fcn's exceptions: one class per fcn_status, all under FcnError.

The message is fcn_last_error()'s one line (it names the file where there
is one). Each class also derives from the built-in exception that fits, so
``except OSError`` or ``except ValueError`` catch what they would expect.
"""


class FcnError(Exception):
    """An error reported by the fcn library (or by this binding's checks)."""

    status = "error"


class FileError(FcnError, OSError):
    """FCN_ERR_IO: a file cannot be opened or read."""

    status = "io"


class FormatError(FcnError, ValueError):
    """FCN_ERR_FORMAT: not a valid model.bin, image or .npy."""

    status = "format"


class UnsupportedError(FcnError):
    """FCN_ERR_UNSUPPORTED: a valid file with an op or option fcn lacks."""

    status = "unsupported"


class ShapeError(FcnError, ValueError):
    """FCN_ERR_SHAPE: shapes do not chain, an input too small, or an array
    of the wrong shape."""

    status = "shape"


class NoMemoryError(FcnError, MemoryError):
    """FCN_ERR_NOMEM: an allocation failed or a size limit was exceeded."""

    status = "nomem"


class ArgumentError(FcnError, ValueError):
    """FCN_ERR_ARG: a bad argument."""

    status = "arg"


# Indexed by fcn_status (FCN_OK's slot: the base class); read by _fcn.
BY_STATUS = (FcnError, FileError, FormatError, UnsupportedError, ShapeError,
             NoMemoryError, ArgumentError)
