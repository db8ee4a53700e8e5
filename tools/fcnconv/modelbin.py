"""Write and read fcn's model.bin (docs/model-format.md), version 1.

    from fcnconv.modelbin import Model
    m = Model(input_shape=(1, 28, 28), labels=["a", "b"], scale=1/255)
    m.add("Conv", "c1", ["input"], "t1", {"kernel": [3, 3]}, weight=w, bias=b)
    m.add("Relu", "r1", ["t1"], "t2")
    ...
    m.save("model.bin")

Attribute values: int / list of ints -> 'i', float / list of floats -> 'f',
str -> 's'. Weights are numpy arrays, stored as float32.
"""
import os
import stat
import struct
import tempfile

import numpy as np

MAGIC = b"FCNMODEL"
VERSION = 1
HEADER_SIZE = 64
ALIGN = 64


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def attr_encoding(v):
    """(type, values) an attribute value is written as: str -> ('s', v);
    ints (int, numpy integers, not bool) -> ('i', [int]); anything else ->
    ('f', [float]). fcnconv.validate checks attributes with the same rule."""
    if isinstance(v, str):
        return "s", v
    vals = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
           for x in vals) and not isinstance(v, (float, np.floating)):
        return "i", [int(x) for x in vals]
    return "f", [float(x) for x in vals]


def _attrs(d):
    out = [struct.pack("<I", len(d))]
    for k, v in d.items():
        out.append(_str(k))
        t, vals = attr_encoding(v)
        if t == "s":
            out.append(b"s" + _str(vals))
        else:
            out.append(t.encode() + struct.pack("<I", len(vals)) +
                       struct.pack("<%d%s" % (len(vals), "q" if t == "i" else "f"), *vals))
    return b"".join(out)


class Layer:
    def __init__(self, op, name, inputs, output, attrs, weights):
        self.op, self.name, self.inputs, self.output = op, name, list(inputs), output
        self.attrs = dict(attrs or {})
        self.weights = weights  # list of (name, float32 ndarray)

    def weight(self, name):
        for n, w in self.weights:
            if n == name:
                return w
        return None


class Model:
    def __init__(self, input_shape, labels=(), input="input", **meta):
        self.meta = {"input_shape": [int(x) for x in input_shape], "input": input}
        for k, v in meta.items():
            if v is not None:
                self.meta[k] = v
        self.labels = list(labels)
        self.layers = []

    @property
    def input_shape(self):
        return tuple(self.meta["input_shape"])

    @property
    def input_name(self):
        return self.meta.get("input", "input")

    def add(self, op, name, inputs, output, attrs=None, **weights):
        ws = [(k, np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items() if v is not None]
        self.layers.append(Layer(op, name, inputs, output, attrs, ws))
        return output

    def to_bytes(self):
        blobs, wrecs = [], []
        off = 0
        for L in self.layers:
            recs = []
            for wn, w in L.weights:
                raw = w.astype("<f4").tobytes()
                recs.append((wn, w.shape, off))
                pad = (-len(raw)) % ALIGN
                blobs.append(raw + b"\0" * pad)
                off += len(raw) + pad
            wrecs.append(recs)
        g = [_attrs(self.meta), struct.pack("<I", len(self.labels))]
        g += [_str(s) for s in self.labels]
        g.append(struct.pack("<I", len(self.layers)))
        for L, recs in zip(self.layers, wrecs):
            g += [_str(L.op), _str(L.name), struct.pack("<I", len(L.inputs))]
            g += [_str(s) for s in L.inputs]
            g += [_str(L.output), _attrs(L.attrs), struct.pack("<I", len(recs))]
            for wn, shape, o in recs:
                g.append(_str(wn) + struct.pack("<II", 0, len(shape)))
                g.append(struct.pack("<%dQ" % len(shape), *shape) + struct.pack("<Q", o))
        graph = b"".join(g)
        graph_off = HEADER_SIZE
        data_off = graph_off + len(graph)
        data_off += (-data_off) % ALIGN
        data = b"".join(blobs)
        size = data_off + len(data)
        hdr = MAGIC + struct.pack("<IIQQQQQQ", VERSION, HEADER_SIZE, size, graph_off, len(graph),
                                  data_off, len(data), 0)
        assert len(hdr) == HEADER_SIZE
        return hdr + graph + b"\0" * (data_off - graph_off - len(graph)) + data

    def save(self, path):
        """Write atomically: the bytes go to a new temporary file beside
        `path` (created exclusively, so nothing planted there is followed),
        are flushed to disk, then renamed over `path`. Whatever is at `path`
        must be a regular file (a symlink, a device, a folder are left alone
        and refused). On any failure, an interrupt included, the temporary is
        removed and `path` is as it was."""
        save_bytes(path, self.to_bytes())


class SaveError(OSError):
    """`path` cannot be replaced (it is not a regular file)."""


def save_bytes(path, data):
    """The atomic write behind Model.save."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise SaveError("%s: exists and is not a regular file; not replaced" % path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            # mkstemp makes the file 0600; give it what open() would have
            mask = os.umask(0)
            os.umask(mask)
            os.fchmod(f.fileno(), 0o666 & ~mask)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


class _Reader:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def str(self):
        (n,) = self.take("<I")
        s = self.buf[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def attrs(self):
        (n,) = self.take("<I")
        d = {}
        for _ in range(n):
            k = self.str()
            t = self.buf[self.pos:self.pos + 1]
            self.pos += 1
            if t == b"s":
                d[k] = self.str()
            else:
                (c,) = self.take("<I")
                vals = list(self.take("<%d%s" % (c, "q" if t == b"i" else "f")))
                d[k] = vals
        return d


def load(path):
    """Read a model.bin back into a Model (for tools and tests)."""
    buf = open(path, "rb").read()
    if buf[:8] != MAGIC:
        raise ValueError("%s: not a model.bin (bad magic)" % path)
    ver, hs, size, goff, gsize, doff, dsize, _ = struct.unpack_from("<IIQQQQQQ", buf, 8)
    if ver != VERSION or size != len(buf):
        raise ValueError("%s: unsupported version or truncated" % path)
    r = _Reader(buf, goff)
    meta = r.attrs()
    (nl,) = r.take("<I")
    labels = [r.str() for _ in range(nl)]
    m = Model(meta.pop("input_shape"), labels, meta.pop("input", "input"))
    m.meta.update(meta)
    (n,) = r.take("<I")
    for _ in range(n):
        op, name = r.str(), r.str()
        (ni,) = r.take("<I")
        inputs = [r.str() for _ in range(ni)]
        out = r.str()
        attrs = r.attrs()
        (nw,) = r.take("<I")
        ws = []
        for _ in range(nw):
            wn = r.str()
            _dt, nd = r.take("<II")
            dims = r.take("<%dQ" % nd)
            (o,) = r.take("<Q")
            cnt = int(np.prod(dims)) if nd else 1
            w = np.frombuffer(buf, dtype="<f4", count=cnt, offset=doff + o).reshape(dims)
            ws.append((wn, w.astype(np.float32)))
        m.layers.append(Layer(op, name, inputs, out, attrs, ws))
    return m
