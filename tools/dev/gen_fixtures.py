"""Generate fcn's conversion test fixtures (tests/fixtures/).

For each case this builds a small PyTorch classifier with random weights
(deterministic seeds; BatchNorm layers get random, non-trivial running stats),
writes it as model.bin through fcnconv.modelbin, and writes reference score
maps computed by PyTorch in float64:

    tests/fixtures/<case>/model.bin
    tests/fixtures/<case>/in_<k>.npy    float32 (C, H, W), fed to the network as-is
    tests/fixtures/<case>/out_<k>.npy   float32 (classes, H', W')
    tests/fixtures/manifest.txt         one line per check (format below)
    tests/fixtures/bad/*.bin + README   models the loader must refuse

Each expected map is computed in up to three independent ways and the generator
asserts they agree (float64, 1e-9):
  A  a hand-converted FCN run on the whole input: Flatten->Dense becomes a conv
     with the Dense weight reshaped to (N, C, h, w) (chw) or (N, h, w, C) moved to
     (N, C, h, w) (hwc), later Dense layers 1x1 convs, BatchNorm1d per channel,
     global pools (and pools whose window is the whole trained map right before
     Flatten) become pools with window = trained map and stride 1;
  B  the backbone run on the whole input, then the classifier's own tail (pool,
     Flatten, Dense...) run unchanged on every h x w window (stride 1) of the
     backbone map at the split point (B checks A's weight reshaping);
  C  VALID models only: the classifier run on every crop
     input[:, i*S : i*S+Ht, j*S : j*S+Wt] (Ht, Wt = trained size, S = total stride),
     and the map size must be floor((H-Ht)/S)+1. C is what is stored for them.
With gap=local the global pool is dropped: expected = the head applied to each
backbone cell (B on 1x1 windows), checked against A without the pool.

Manifest line:  <case> <model> <input.npy> <expected.npy> <tolerance> <options>
paths relative to tests/fixtures; tolerance = max |got - expected| allowed,
divided by max(1, max |expected|); options "-" or a comma list (gap=local).

Usage: /usr/bin/python3 -m tools.dev.gen_fixtures [OUTDIR]   (default: tests/fixtures)
"""
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import ROOT
from ..fcnconv import modelbin

TOL = "1e-4"   # written as-is into the manifest
torch.set_grad_enabled(False)


# --------------------------------------------------------------------------
# Modules PyTorch lacks (or lacks with the needed parameters)

class FlattenHWC(nn.Module):
    """Keras/TensorFlow flatten order: channels last."""
    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class TheanoConv2d(nn.Module):
    """A conv whose stored kernel is for true convolution (Theano): the
    cross-correlation kernel PyTorch applies is the stored one flipped in both
    spatial axes."""
    def __init__(self, cin, cout, kernel, bias=True):
        super().__init__()
        kh, kw = kernel
        self.weight = nn.Parameter(torch.zeros(cout, cin, kh, kw))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight.flip(2, 3), self.bias)


class HardSigmoidAB(nn.Module):
    """ONNX HardSigmoid: max(0, min(1, alpha*x + beta))."""
    def __init__(self, alpha=0.2, beta=0.5):
        super().__init__()
        self.alpha, self.beta = alpha, beta

    def forward(self, x):
        return torch.clamp(self.alpha * x + self.beta, 0.0, 1.0)


class MulConst(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x * self.value


class Add(nn.Module):
    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    def forward(self, *xs):
        return torch.cat(xs, dim=1)


# --------------------------------------------------------------------------
# A tiny DAG of named tensors, mirroring model.bin's layer list

class Net(nn.Module):
    """nodes: (name, module, [input tensor names]); node i produces tensor
    't_<name>'; the graph input is 'input'; the last node is the output."""
    def __init__(self, input_shape, nodes, labels=()):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.labels = list(labels)
        self.names, self.ins = [], []
        self.mods = nn.ModuleList()
        last = "input"
        for n in nodes:
            name, mod = n[0], n[1]
            ins = n[2] if len(n) > 2 else [last]
            ins = [i if i == "input" else "t_" + i for i in ins]
            self.names.append(name)
            self.mods.append(mod)
            self.ins.append(ins)
            last = name
        self.outs = ["t_" + n for n in self.names]

    def run(self, env, start=0, stop=None, override=None):
        stop = len(self.names) if stop is None else stop
        for i in range(start, stop):
            xs = [env[t] for t in self.ins[i]]
            f = (override or {}).get(i)
            env[self.outs[i]] = f(self.mods[i], *xs) if f else self.mods[i](*xs)
        return env

    def forward(self, x):
        return self.run({"input": x})[self.outs[-1]]


# --------------------------------------------------------------------------
# Random weights: numpy RandomState (stable across versions), rounded to
# float32 (what model.bin stores), then the whole net runs in float64.

def init_weights(net, rng):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, TheanoConv2d, nn.Linear)):
            w = m.weight
            fan_in = int(np.prod(w.shape[1:]))
            bound = np.sqrt(6.0 / fan_in)
            w.copy_(torch.from_numpy(rng.uniform(-bound, bound, w.shape).astype(np.float32)))
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, m.bias.shape).astype(np.float32)))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            sign = rng.choice([-1.0, 1.0], c)
            m.weight.copy_(torch.from_numpy((sign * rng.uniform(0.5, 1.5, c)).astype(np.float32)))
            m.bias.copy_(torch.from_numpy(rng.normal(0, 0.3, c).astype(np.float32)))
            m.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.5, c).astype(np.float32)))
            m.running_var.copy_(torch.from_numpy(rng.uniform(0.1, 2.0, c).astype(np.float32)))
    net.double()
    net.eval()


def f32(t):
    return t.detach().to(torch.float32).cpu().numpy()


# --------------------------------------------------------------------------
# PyTorch -> model.bin

def pair(v):
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


def to_model(net, name):
    m = modelbin.Model(net.input_shape, net.labels, name="fixture " + name, scale=1.0)
    for lname, mod, ins, out in zip(net.names, net.mods, net.ins, net.outs):
        a, w = {}, {}
        if isinstance(mod, nn.Conv2d):
            assert mod.padding_mode == "zeros" and not isinstance(mod.padding, str)
            ph, pw = pair(mod.padding)
            op = "Conv"
            a = {"kernel": pair(mod.kernel_size), "stride": pair(mod.stride),
                 "pad": [ph, pw, ph, pw], "dilation": pair(mod.dilation), "groups": int(mod.groups)}
            w = {"weight": f32(mod.weight), "bias": None if mod.bias is None else f32(mod.bias)}
        elif isinstance(mod, TheanoConv2d):
            op = "Conv"
            a = {"kernel": list(mod.weight.shape[2:]), "flip": 1}
            w = {"weight": f32(mod.weight), "bias": None if mod.bias is None else f32(mod.bias)}
        elif isinstance(mod, nn.Linear):
            op = "Dense"
            w = {"weight": f32(mod.weight), "bias": None if mod.bias is None else f32(mod.bias)}
        elif isinstance(mod, nn.Flatten):
            assert mod.start_dim == 1 and mod.end_dim == -1
            op, a = "Flatten", {"order": "chw"}
        elif isinstance(mod, FlattenHWC):
            op, a = "Flatten", {"order": "hwc"}
        elif isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            ph, pw = pair(mod.padding)
            op = "MaxPool" if isinstance(mod, nn.MaxPool2d) else "AvgPool"
            a = {"kernel": pair(mod.kernel_size), "stride": pair(mod.stride),
                 "pad": [ph, pw, ph, pw], "ceil_mode": int(mod.ceil_mode)}
            if op == "MaxPool":
                assert pair(mod.dilation) == [1, 1] and not mod.return_indices
            else:
                assert mod.divisor_override is None
                a["count_include_pad"] = int(mod.count_include_pad)
        elif isinstance(mod, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            assert pair(mod.output_size) == [1, 1]
            op = "GlobalAvgPool" if isinstance(mod, nn.AdaptiveAvgPool2d) else "GlobalMaxPool"
        elif isinstance(mod, nn.ReLU):
            op = "Relu"
        elif isinstance(mod, nn.Sigmoid):
            op = "Sigmoid"
        elif isinstance(mod, nn.Tanh):
            op = "Tanh"
        elif isinstance(mod, nn.Hardswish):
            op = "HardSwish"
        elif isinstance(mod, nn.LeakyReLU):
            op, a = "LeakyRelu", {"alpha": float(mod.negative_slope)}
        elif isinstance(mod, nn.Hardtanh):          # ReLU6 is a Hardtanh(0, 6)
            op, a = "Clip", {"min": float(mod.min_val), "max": float(mod.max_val)}
        elif isinstance(mod, HardSigmoidAB):
            op, a = "HardSigmoid", {"alpha": float(mod.alpha), "beta": float(mod.beta)}
        elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            assert mod.affine and mod.track_running_stats
            op, a = "BatchNorm", {"eps": float(mod.eps)}
            w = {"scale": f32(mod.weight), "bias": f32(mod.bias),
                 "mean": f32(mod.running_mean), "var": f32(mod.running_var)}
        elif isinstance(mod, nn.LocalResponseNorm):
            op = "LRN"
            a = {"size": int(mod.size), "alpha": float(mod.alpha), "beta": float(mod.beta),
                 "bias": float(mod.k)}
        elif isinstance(mod, Add):
            op = "Add"
        elif isinstance(mod, Concat):
            op = "Concat"
        elif isinstance(mod, nn.ConstantPad2d):     # ZeroPad2d is a ConstantPad2d
            left, right, top, bottom = mod.padding  # PyTorch order: l, r, t, b
            op, a = "Pad", {"pad": [top, left, bottom, right], "value": float(mod.value)}
        elif isinstance(mod, MulConst):
            op, a = "Mul", {"value": float(mod.value)}
        elif isinstance(mod, nn.Dropout):
            op = "Dropout"
        elif isinstance(mod, nn.Identity):
            op = "Identity"
        elif isinstance(mod, nn.Softmax):
            assert mod.dim == 1
            op = "Softmax"
        else:
            raise TypeError("no translation for %r" % mod)
        m.add(op, lname, ins, out, a, **w)
    return m


def check_roundtrip(model, path):
    """The written file reads back to the same layers and weights."""
    back = modelbin.load(path)
    assert back.input_shape == model.input_shape and back.labels == model.labels
    assert len(back.layers) == len(model.layers)
    for a, b in zip(model.layers, back.layers):
        assert (a.op, a.name, a.inputs, a.output) == (b.op, b.name, b.inputs, b.output)
        assert [n for n, _ in a.weights] == [n for n, _ in b.weights]
        for (_, wa), (_, wb) in zip(a.weights, b.weights):
            assert wa.shape == wb.shape and np.array_equal(wa, wb)


# --------------------------------------------------------------------------
# References

GLOBAL = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def trained_shapes(net):
    env = net.run({"input": torch.zeros((1,) + net.input_shape, dtype=torch.float64)})
    return {k: tuple(v.shape[1:]) for k, v in env.items()}


def split_point(net, shapes):
    """Index of the first Flatten / global pool / whole-map pool before Flatten,
    and whether it is a pool the loader turns into a stride-1 window pool."""
    for i, mod in enumerate(net.mods):
        if isinstance(mod, (nn.Flatten, FlattenHWC)):
            return i, False
        if isinstance(mod, GLOBAL):
            return i, True
        if isinstance(mod, (nn.AvgPool2d, nn.MaxPool2d)):
            consumers = [j for j, ins in enumerate(net.ins) if net.outs[i] in ins]
            h, w = shapes[net.ins[i][0]][1:]
            if (len(consumers) == 1 and isinstance(net.mods[consumers[0]], (nn.Flatten, FlattenHWC))
                    and pair(mod.kernel_size) == [h, w] and pair(mod.padding) == [0, 0]):
                return i, True
    raise ValueError("no Flatten or global pool")


def ref_fcn(net, x, gap_local=False):
    """A: the hand-converted fully convolutional network on x (1, C, H, W)."""
    shapes = trained_shapes(net)
    sp, is_pool = split_point(net, shapes)
    override = {}
    if is_pool:
        h, w = shapes[net.ins[sp][0]][1:]
        if gap_local:
            override[sp] = lambda mod, t: t
        elif isinstance(net.mods[sp], (nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
            # count_include_pad is moot: no padding
            override[sp] = lambda mod, t, k=(h, w): F.avg_pool2d(t, k, stride=1)
        else:
            override[sp] = lambda mod, t, k=(h, w): F.max_pool2d(t, k, stride=1)
    flat_shape, order, n_dense = None, None, 0
    for i in range(sp, len(net.mods)):
        mod = net.mods[i]
        if isinstance(mod, (nn.Flatten, FlattenHWC)):
            flat_shape = shapes[net.ins[i][0]]          # C, h, w at the trained size
            order = "hwc" if isinstance(mod, FlattenHWC) else "chw"
            override[i] = lambda mod, t: t
        elif isinstance(mod, nn.Linear):
            W = mod.weight
            if n_dense == 0:
                c, h, w = flat_shape
                if order == "chw":
                    K = W.reshape(W.shape[0], c, h, w)
                else:
                    K = W.reshape(W.shape[0], h, w, c).permute(0, 3, 1, 2)
            else:
                K = W.reshape(W.shape[0], W.shape[1], 1, 1)
            n_dense += 1
            override[i] = (lambda K: lambda mod, t: F.conv2d(t, K, mod.bias))(K)
        elif isinstance(mod, nn.BatchNorm1d):
            override[i] = lambda mod, t: F.batch_norm(t, mod.running_mean, mod.running_var,
                                                      mod.weight, mod.bias, False, 0.0, mod.eps)
        elif isinstance(mod, nn.Softmax):
            override[i] = lambda mod, t: torch.softmax(t, dim=1)
    return net.run({"input": x}, override=override)[net.outs[-1]][0]


def ref_windows(net, x, gap_local=False):
    """B: backbone on x, then the classifier's unchanged tail on every window
    (trained map size, or 1x1 for gap=local) of the backbone map."""
    shapes = trained_shapes(net)
    sp, _ = split_point(net, shapes)
    env = net.run({"input": x}, stop=sp)
    src = net.ins[sp][0]
    for i in range(sp, len(net.mods)):
        assert all(t == src or t in net.outs[sp:i] for t in net.ins[i]), "tail is not a chain"
    fmap = env[src]
    c, h, w = shapes[src]
    if gap_local:
        h = w = 1
    ni, nj = fmap.shape[2] - h + 1, fmap.shape[3] - w + 1
    win = fmap.unfold(2, h, 1).unfold(3, w, 1)            # 1, C, ni, nj, h, w
    win = win[0].permute(1, 2, 0, 3, 4).reshape(ni * nj, c, h, w)
    out = net.run({src: win}, start=sp)[net.outs[-1]]      # ni*nj, classes
    return out.reshape(ni, nj, -1).permute(2, 0, 1)


def ref_crops(net, x, stride):
    """C: the classifier on every crop of a VALID model's input."""
    _, _, H, W = x.shape
    _, Ht, Wt = net.input_shape
    ni, nj = (H - Ht) // stride + 1, (W - Wt) // stride + 1
    crops = torch.cat([x[:, :, i * stride:i * stride + Ht, j * stride:j * stride + Wt]
                       for i in range(ni) for j in range(nj)])
    return net(crops).reshape(ni, nj, -1).permute(2, 0, 1)


def close(a, b, what):
    assert a.shape == b.shape, "%s: shapes %s vs %s" % (what, tuple(a.shape), tuple(b.shape))
    d = (a - b).abs().max().item()
    assert d < 1e-9, "%s: max diff %g" % (what, d)


# --------------------------------------------------------------------------
# Cases

def conv(cin, cout, k, **kw):
    return nn.Conv2d(cin, cout, k, **kw)


def case_cf_dense2():
    net = Net((3, 14, 14), [
        ("conv1", conv(3, 4, 3)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", conv(4, 6, 3)), ("relu2", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(96, 8)), ("relu3", nn.ReLU()), ("drop", nn.Dropout(0.5)),
        ("fc2", nn.Linear(8, 5)),
    ], labels=["a", "b", "c", "d", "e"])
    return net, dict(stride=2, sizes=[(14, 14), (30, 22), (31, 25)])


def case_cl_dense3():
    net = Net((3, 12, 10), [
        ("conv1", conv(3, 5, 3)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),                          # 10x8 -> 5x4
        ("conv2", conv(5, 6, 3)), ("relu2", nn.ReLU()),      # 3x2
        ("flatten", FlattenHWC()),
        ("fc1", nn.Linear(36, 8)), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(8, 7, bias=False)), ("relu4", nn.ReLU()),
        ("fc3", nn.Linear(7, 4)),
        ("softmax", nn.Softmax(dim=1)),
    ], labels=["w", "x", "y", "z"])
    return net, dict(stride=2, sizes=[(12, 10), (21, 17), (26, 15)])


def case_gap_head():
    net = Net((3, 11, 13), [
        ("conv1", conv(3, 6, 3)), ("relu1", nn.ReLU()),                 # 9x11
        ("conv2", conv(6, 8, 3, stride=2)), ("relu2", nn.ReLU()),      # 4x5
        ("gap", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(8, 5)),
    ])
    return net, dict(stride=2, sizes=[(11, 13), (24, 20)], local_sizes=[(24, 20), (11, 13)])


def case_gmp_head():
    net = Net((3, 10, 12), [
        ("conv1", conv(3, 8, 3)), ("relu1", nn.ReLU()),                 # 8x10
        ("pool1", nn.MaxPool2d(2)),                                    # 4x5
        ("conv2", conv(8, 8, 3)),                                      # 2x3
        ("gmp", nn.AdaptiveMaxPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(8, 6)), ("relu2", nn.ReLU()),
        ("fc2", nn.Linear(6, 4)),
        ("softmax", nn.Softmax(dim=1)),
    ])
    return net, dict(stride=2, sizes=[(10, 12), (19, 23)], local_sizes=[(19, 23)])


def case_bn():
    net = Net((3, 14, 12), [
        ("conv1", conv(3, 6, 3, bias=False)), ("bn1", nn.BatchNorm2d(6, eps=1e-3)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),                                    # 12x10 -> 6x5
        ("conv2", conv(6, 8, 3)), ("bn2", nn.BatchNorm2d(8)), ("relu2", nn.ReLU()),   # 4x3
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(96, 8)), ("bn3", nn.BatchNorm1d(8, eps=1e-3)), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(8, 4)),
    ])
    return net, dict(stride=2, sizes=[(14, 12), (25, 19)])


def case_theano():
    net = Net((1, 16, 16), [
        ("conv1", TheanoConv2d(1, 4, (3, 3))), ("relu1", nn.ReLU()),   # 14x14
        ("pool1", nn.MaxPool2d(2)),                                     # 7x7
        ("conv2", TheanoConv2d(4, 6, (3, 2), bias=False)), ("relu2", nn.ReLU()),  # 5x6
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(180, 5)),
    ])
    return net, dict(stride=2, sizes=[(16, 16), (30, 25)])


def case_ops_mix():
    # Sizes in the comments are at the trained 16x15; mpool's ceil_mode adds a
    # partial window in W there (7 -> 4) and in both axes at 38x31.
    net = Net((3, 16, 15), [
        ("conv1", conv(3, 4, 3, padding=1)), ("hswish", nn.Hardswish()),            # 4x16x15
        ("pad1", nn.ZeroPad2d((1, 0, 0, 2))),                                       # l,r,t,b -> 18x16
        ("gconv", conv(4, 6, 3, groups=2, dilation=2)),                             # 6x14x12
        ("hsig", HardSigmoidAB(0.2, 0.5)),
        ("apool1", nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)),   # 14x12
        ("pad2", nn.ConstantPad2d((0, 1, 1, 0), -1.0)),                             # 15x13
        ("dwconv", conv(6, 6, 3, stride=2, padding=1, groups=6)),                   # 8x7
        ("mul", MulConst(4.0)), ("relu6", nn.ReLU6()),
        ("mpool", nn.MaxPool2d(2, stride=2, ceil_mode=True)),                        # 4x4
        ("lrn", nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0)),
        ("conv4", conv(6, 8, 1)), ("lrelu", nn.LeakyReLU(0.1)),
        ("apool2", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)),  # 2x2
        ("tanh", nn.Tanh()),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(32, 8)), ("sigmoid", nn.Sigmoid()),
        ("fc2", nn.Linear(8, 5)),
    ])
    return net, dict(stride=None, sizes=[(16, 15), (38, 31), (40, 36), (17, 16)])


def case_resnet_concat():
    net = Net((3, 12, 10), [
        ("stem", conv(3, 6, 3, padding=1)), ("stem_relu", nn.ReLU()),
        ("res_a", conv(6, 6, 3, padding=1), ["stem_relu"]), ("res_a_relu", nn.ReLU()),
        ("res_b", conv(6, 6, 3, padding=1)),
        ("add", Add(), ["stem_relu", "res_b"]), ("add_relu", nn.ReLU()),
        ("br1", conv(6, 4, 1), ["add_relu"]),
        ("br2", conv(6, 3, 3, padding=1), ["add_relu"]), ("br2_relu", nn.ReLU()),
        ("cat", Concat(), ["br1", "br2_relu"]),                         # 7 channels
        ("pool", nn.MaxPool2d(2)),                                       # 6x5
        ("gap", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(7, 4)),
        ("softmax", nn.Softmax(dim=1)),
    ])
    return net, dict(stride=None, sizes=[(12, 10), (21, 26)])


def case_disguised_gap():
    net = Net((3, 14, 12), [
        ("conv1", conv(3, 6, 3)), ("relu1", nn.ReLU()),                 # 12x10
        ("pool1", nn.MaxPool2d(2)),                                     # 6x5
        ("conv2", conv(6, 6, 3)), ("relu2", nn.ReLU()),                 # 4x3
        ("avg", nn.AvgPool2d((4, 3))),                                  # stride = kernel -> 1x1
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(6, 5)),
    ])
    return net, dict(stride=2, sizes=[(14, 12), (23, 19)])


def case_disguised_max():
    net = Net((3, 10, 11), [
        ("conv1", conv(3, 6, 3)), ("relu1", nn.ReLU()),                 # 8x9
        ("conv2", conv(6, 8, 3, stride=2)),                            # 3x4
        ("max", nn.MaxPool2d((3, 4))),                                  # 1x1
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(8, 6)), ("relu2", nn.ReLU()),
        ("fc2", nn.Linear(6, 3)),
    ])
    return net, dict(stride=2, sizes=[(10, 11), (20, 17)])


def case_padded_vgg():
    net = Net((3, 16, 12), [
        ("conv1", conv(3, 6, 3, padding=1)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),                                      # 8x6
        ("conv2", conv(6, 8, 3, padding=1)), ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),                                      # 4x3
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(96, 8)), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(8, 5)),
    ])
    return net, dict(stride=None, sizes=[(16, 12), (28, 22), (30, 17)])


CASES = [
    ("cf_dense2", case_cf_dense2),
    ("cl_dense3", case_cl_dense3),
    ("gap_head", case_gap_head),
    ("gmp_head", case_gmp_head),
    ("bn", case_bn),
    ("theano", case_theano),
    ("ops_mix", case_ops_mix),
    ("resnet_concat", case_resnet_concat),
    ("disguised_gap", case_disguised_gap),
    ("disguised_max", case_disguised_max),
    ("padded_vgg", case_padded_vgg),
]


def nontrivial(y, what):
    assert y.std().item() > 1e-3, "%s: output is (nearly) constant" % what
    if y.shape[1] * y.shape[2] > 1:
        assert y.std(dim=(1, 2)).max().item() > 1e-3, "%s: map does not vary" % what


def gen_case(outdir, idx, name, fn):
    torch.manual_seed(idx)
    rng = np.random.RandomState(1000 + idx)
    net, spec = fn()
    init_weights(net, rng)
    d = os.path.join(outdir, name)
    os.makedirs(d)
    model = to_model(net, name)
    path = os.path.join(d, "model.bin")
    model.save(path)
    check_roundtrip(model, path)

    C, Ht, Wt = net.input_shape
    lines = []
    jobs = [(s, False) for s in spec["sizes"]] + [(s, True) for s in spec.get("local_sizes", [])]
    for k, ((H, W), local) in enumerate(jobs):
        x32 = rng.standard_normal((C, H, W)).astype(np.float32)
        x = torch.from_numpy(x32).double()[None]
        what = "%s in_%d %dx%d%s" % (name, k, H, W, " gap=local" if local else "")
        a = ref_fcn(net, x, gap_local=local)
        b = ref_windows(net, x, gap_local=local)
        close(a, b, what + " (fcn vs windows)")
        y = a
        if (H, W) == (Ht, Wt) and not local:
            close(a, net(x)[0][:, None, None], what + " (fcn vs classifier)")
        if spec["stride"] and not local:
            S = spec["stride"]
            assert a.shape[1:] == ((H - Ht) // S + 1, (W - Wt) // S + 1), what + " (map size)"
            c = ref_crops(net, x, S)
            close(a, c, what + " (fcn vs crops)")
            y = c
        nontrivial(y, what)
        np.save(os.path.join(d, "in_%d.npy" % k), x32)
        np.save(os.path.join(d, "out_%d.npy" % k), f32(y))
        lines.append("%s %s/model.bin %s/in_%d.npy %s/out_%d.npy %s %s" % (
            name, name, name, k, name, k, TOL, "gap=local" if local else "-"))
        print("  %-40s -> %s" % (what, "x".join(map(str, y.shape))))
    return lines


# --------------------------------------------------------------------------
# Models the loader must refuse

def small_weights(rng, *shape):
    return rng.uniform(-0.5, 0.5, shape).astype(np.float32)


def gen_bad(outdir):
    d = os.path.join(outdir, "bad")
    os.makedirs(d)
    rng = np.random.RandomState(7)
    readme = [
        "# Models the loader must refuse (load fails with a message; no crash, no leak).",
        "# Generated by tools/dev/gen_fixtures.py.  <file>  <why it must be refused>",
    ]

    def base(extra_meta=None):
        return modelbin.Model((3, 8, 8), name="bad fixture", scale=1.0, **(extra_meta or {}))

    def save(fname, m, why):
        m.save(os.path.join(d, fname))
        readme.append("%-22s %s" % (fname, why))

    # conv 3->4 k3 on 8x8 -> 4x6x6 = 144, but the Dense expects K = 140
    m = base()
    m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
          weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
    m.add("Relu", "relu1", ["t1"], "t2")
    m.add("Flatten", "flatten", ["t2"], "t3", {"order": "chw"})
    m.add("Dense", "fc", ["t3"], "t4", weight=small_weights(rng, 5, 140), bias=small_weights(rng, 5))
    save("dense_mismatch.bin", m,
         "Dense 'fc' weight is [5, 140] but the flattened map is 4x6x6 = 144 (K mismatch)")

    m = base()
    m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
          weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
    m.add("Relu", "relu1", ["t_missing"], "t2")
    m.add("GlobalAvgPool", "gap", ["t2"], "t3")
    m.add("Flatten", "flatten", ["t3"], "t4", {"order": "chw"})
    m.add("Dense", "fc", ["t4"], "t5", weight=small_weights(rng, 5, 4))
    save("no_chain.bin", m,
         "layer 'relu1' reads tensor 't_missing', which is neither the input nor an earlier output")

    # conv k3 -> 6x6, maxpool 2 -> 3x3, then a 5x5 conv (pad 0) does not fit
    m = base()
    m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
          weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
    m.add("MaxPool", "pool1", ["t1"], "t2", {"kernel": [2, 2], "stride": [2, 2]})
    m.add("Conv", "conv2", ["t2"], "t3", {"kernel": [5, 5]},
          weight=small_weights(rng, 6, 4, 5, 5), bias=small_weights(rng, 6))
    m.add("GlobalAvgPool", "gap", ["t3"], "t4")
    m.add("Flatten", "flatten", ["t4"], "t5", {"order": "chw"})
    m.add("Dense", "fc", ["t5"], "t6", weight=small_weights(rng, 5, 6))
    save("bad_kernel.bin", m,
         "Conv 'conv2' has a 5x5 kernel on a 3x3 map (pad 0) at the trained size 3x8x8")

    m = base()
    m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
          weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
    m.add("Frobnicate", "frob", ["t1"], "t2")
    m.add("GlobalAvgPool", "gap", ["t2"], "t3")
    m.add("Flatten", "flatten", ["t3"], "t4", {"order": "chw"})
    m.add("Dense", "fc", ["t4"], "t5", weight=small_weights(rng, 5, 4))
    save("unknown_op.bin", m, "layer 'frob' has the unknown op 'Frobnicate'")

    # ---- further refusals the format document requires
    def good():
        m = base()
        m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
              weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
        m.add("GlobalAvgPool", "gap", ["t1"], "t2")
        m.add("Flatten", "flatten", ["t2"], "t3", {"order": "chw"})
        m.add("Dense", "fc", ["t3"], "t4", weight=small_weights(rng, 5, 4))
        return m

    m = good()
    m.layers[0].weights[0] = ("weight", small_weights(rng, 4, 2, 3, 3))
    save("conv_weight_shape.bin", m,
         "Conv 'conv1' weight is [4, 2, 3, 3] but the input has 3 channels (groups 1): wrong shape")

    m = good()
    m.layers[0].attrs["frobnication"] = 1
    save("unknown_attr.bin", m, "Conv 'conv1' has the unknown attribute 'frobnication'")

    m = good()
    m.layers[0].attrs["kernel"] = [3.0, 3.0]
    save("mistyped_attr.bin", m, "Conv 'conv1' attribute 'kernel' is stored as floats ('f'), not ints")

    # A conv reading features flattened from a 4x6x6 map has no convolutional
    # equivalent (a conv after Flatten of a 1x1 map, e.g. after a global pool,
    # is fine: it acts as a Dense).
    m = base()
    m.add("Conv", "conv1", ["input"], "t1", {"kernel": [3, 3]},
          weight=small_weights(rng, 4, 3, 3, 3), bias=small_weights(rng, 4))
    m.add("Flatten", "flatten", ["t1"], "t3", {"order": "chw"})
    m.add("Conv", "conv2", ["t3"], "t3b", {"kernel": [1, 1]},
          weight=small_weights(rng, 4, 144, 1, 1))
    m.add("Dense", "fc", ["t3b"], "t4", weight=small_weights(rng, 5, 4))
    save("conv_after_flatten.bin", m,
         "Conv 'conv2' reads features flattened from a 4x6x6 map (only Dense and per-element ops may)")

    m = good()
    m.meta["input_shape"] = [3, 8]
    save("bad_input_shape.bin", m, "metadata input_shape has 2 values, not 3 (C, H, W)")

    raw = good().to_bytes()
    with open(os.path.join(d, "truncated.bin"), "wb") as f:
        f.write(raw[:-40])
    readme.append("%-22s %s" % ("truncated.bin", "file is 40 bytes shorter than its header's file_size"))

    with open(os.path.join(d, "bad_magic.bin"), "wb") as f:
        f.write(b"FCNMODEX" + raw[8:])
    readme.append("%-22s %s" % ("bad_magic.bin", "magic is 'FCNMODEX', not 'FCNMODEL'"))

    with open(os.path.join(d, "README"), "w") as f:
        f.write("\n".join(readme) + "\n")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures")
    outdir = os.path.normpath(outdir)
    if os.path.exists(outdir):
        if os.listdir(outdir) and not os.path.exists(os.path.join(outdir, "manifest.txt")):
            sys.exit("%s exists and is not a fixtures directory; not overwriting" % outdir)
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    manifest = [
        "# fcn conversion fixtures, generated by tools/dev/gen_fixtures.py (do not edit).",
        "# <case> <model> <input.npy> <expected.npy> <tolerance> <options>",
        "# Paths are relative to this directory. input: float32 (C,H,W) fed as-is (no",
        "# preprocessing); expected: float32 (classes,H',W'), computed by PyTorch in float64.",
        "# Pass when max|got - expected| <= tolerance * max(1, max|expected|).",
        "# options: '-' or a comma list of loader options (gap=local: drop the global pool,",
        "# the head is applied at every backbone cell).",
    ]
    for idx, (name, fn) in enumerate(CASES):
        print(name)
        manifest += gen_case(outdir, idx, name, fn)
    gen_bad(outdir)
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(outdir) for f in fs)
    print("wrote %s (%d checks, %d bytes)" % (outdir, sum(not l.startswith("#") for l in manifest), total))


if __name__ == "__main__":
    main()
