"""Generate the ONNX converter fixtures (tests/fixtures-onnx/).

Each case is a classifier with random weights (fixed seeds; biases and
BatchNorm statistics get small random non-zero values), saved as ONNX in a
temporary directory (the .onnx files are not kept), converted with
tools/fcn-convert, and checked by tests/test_fixtures.c against references
computed in float64:

  torchvision models, reduced in width and input size (same layer types and
  topology as the originals; the classes are torchvision's own, with the
  modules replaced by narrower ones), exported by torch.onnx.export:
    alexnet, vgg11, vgg11_bn   Flatten -> Dense heads. At the trained size the
        AdaptiveAvgPool2d is an identity (the map already has its output
        size; the exporter writes AveragePool 1x1/1); on a larger input the
        reference is a hand-converted FCN: the same features, the Linear
        layers replaced by the equivalent Conv2d (first: kernel = trained map,
        later 1x1), the identity pool dropped.
    resnet18, mobilenet_v2, squeezenet1_1   global-pool heads. Larger input:
        the global pool becomes an average window of the trained map size,
        stride 1 (fcn's default), or is dropped (gap=local: the head at every
        backbone cell).
  torch_ops      a small PyTorch model written the legacy way (x.view(x.size(0),
                 -1): Shape/Gather/Unsqueeze/Concat/Reshape), exported with
                 dynamic batch/height/width (converted with --input-size), with
                 ceil-mode and padded pools, Hardswish (opset 13: HardSigmoid*Mul),
                 ReLU6 (Clip with Constant inputs), LeakyReLU, Softmax.
  tf2onnx_dense  built with onnx.helper as tf2onnx writes a Keras model:
                 Conv(SAME_UPPER) -> Relu -> Conv -> Transpose(0,2,3,1) ->
                 Reshape(1,-1) -> MatMul -> Add -> Relu -> MatMul -> Add -> Softmax;
                 reference in numpy (flatten order hwc).
  tf2onnx_gap    onnx.helper: NHWC input -> Transpose(0,3,1,2) -> Conv ... ->
                 ReduceMean(axes 2,3, keepdims 0) -> MatMul -> Add; numpy reference.
  onnx_ops       onnx.helper, opset 14: the ops exporters rarely write: SAME_LOWER,
                 groups + dilations, Pad with a value, LRN, a constant
                 bias Add folded into a conv, standalone BatchNormalization, Clip
                 with initializer/Constant bounds, HardSigmoid, HardSwish, Tanh,
                 Sigmoid, LeakyRelu, MaxPool with pads, AveragePool ceil_mode with
                 and without count_include_pad, Concat, Sum, Mul/Div by scalars,
                 GlobalMaxPool, Gemm (transB 0, alpha, beta), Dropout, Gemm, Softmax.
                 Reference: PyTorch functional ops in float64.

Every map reference is computed two ways that must agree (1e-9): the
hand-converted network on the whole input, and the classifier's tail run on
every window of the backbone map.

Writes tests/fixtures-onnx/<case>/model.bin, in/out .npy files (float32
(C,H,W) input fed as-is; expected (classes,H',W')), shared inputs under
inputs/, and manifest.txt (format: tests/fixtures/manifest.txt).

Usage: /usr/bin/python3 -m tools.dev.gen_onnx_fixtures [OUTDIR] [--keep-onnx DIR]
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torchvision.models import AlexNet, MobileNetV2, ResNet, SqueezeNet, VGG
from torchvision.models.mobilenetv2 import Conv2dNormActivation
from torchvision.models.resnet import BasicBlock
from torchvision.models.squeezenet import Fire
from torchvision.models.vgg import make_layers

from .. import FCN_CONVERT, ROOT
from .reference import np_conv, np_softmax

OPSET = 13
IMAGENET = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]
torch.set_grad_enabled(False)

# Tolerance (relative to max(1, max|expected|)). See the manifest header.
TOL = "1e-4"


# --------------------------------------------------------------------------
# helpers

def randomize(model, seed):
    """Biases and BatchNorm parameters/statistics: small random non-zero."""
    g = torch.Generator().manual_seed(seed)

    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g, dtype=t.dtype) * (hi - lo) + lo)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            u(m.weight.data, 0.5, 1.5)
            u(m.bias.data, -0.2, 0.2)
            u(m.running_mean, -0.2, 0.2)
            u(m.running_var, 0.5, 1.5)
        elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            u(m.bias.data, -0.1, 0.1)
    return model.eval()


def scale_logits(model, last, shape, seed, target=5.0):
    """Scale the last layer so that the scores reach about +-target: errors
    are judged relative to max(1, max|expected|), so tiny logits would hide
    them."""
    x = torch.from_numpy(rand_input(shape, seed))[None]
    s = target / float(model(x).abs().max())
    last.weight.data *= s
    if last.bias is not None:
        last.bias.data *= s


def rand_input(shape, seed):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype(np.float32)


def t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))[None]


def f32(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    a = a[0] if a.ndim in (2, 4) and a.shape[0] == 1 else a
    if a.ndim == 1:
        a = a[:, None, None]
    return np.ascontiguousarray(a, dtype=np.float32)


def agree(a, b, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    err = np.abs(a - b).max() / max(1.0, np.abs(b).max())
    assert err < 1e-9, "%s: references disagree by %g" % (what, err)


def convert(onnx_path, dst, extra=()):
    cmd = [FCN_CONVERT, onnx_path, dst] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode:
        sys.exit("gen_onnx_fixtures: %s failed:\n%s" % (" ".join(cmd), r.stdout))


def export(model, shape, path, dynamic=None, **kw):
    x = torch.zeros(shape)
    axes = {"input": dynamic} if dynamic else None
    torch.onnx.export(model.float().eval(), x, path, opset_version=OPSET,
                      input_names=["input"], output_names=["scores"],
                      dynamic_axes=axes, **kw)


def onnx_ops(path):
    return [n.op_type for n in onnx.load(path).graph.node]


class Fixtures:
    def __init__(self, out):
        self.out, self.lines, self.shared = out, [], {}
        self.tmp = tempfile.mkdtemp(prefix="fcn-onnx-")

    def npy(self, rel, arr):
        p = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        np.save(p, np.ascontiguousarray(arr, dtype=np.float32))
        return rel

    def shared_input(self, c, h, w, seed):
        key = (c, h, w, seed)
        if key not in self.shared:
            self.shared[key] = self.npy("inputs/in_%dx%dx%d_s%d.npy" % (c, h, w, seed),
                                        rand_input((c, h, w), seed))
        return self.shared[key], np.load(os.path.join(self.out, self.shared[key]))

    def case_dir(self, case):
        d = os.path.join(self.out, case)
        os.makedirs(d, exist_ok=True)
        return d

    def add(self, case, inp_rel, expected, tol, opts="-", k=None):
        k = sum(1 for ln in self.lines if ln.split()[0] == case) if k is None else k
        out_rel = self.npy("%s/out_%d.npy" % (case, k), expected)
        self.lines.append("%s %s/model.bin %s %s %s %s" % (case, case, inp_rel, out_rel,
                                                            tol, opts))


# --------------------------------------------------------------------------
# torchvision models, narrow

def small_alexnet():
    m = AlexNet(num_classes=10)
    m.features = nn.Sequential(
        nn.Conv2d(3, 8, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(16, 24, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(24, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
    m.avgpool = nn.AdaptiveAvgPool2d((2, 2))   # 6x6 in the original, here 2x2
    m.classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(16 * 2 * 2, 32), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(32, 32), nn.ReLU(inplace=True), nn.Linear(32, 10))
    return m


def small_vgg11(bn):
    # VGG-11 ("A"): 8 convs, 5 max pools, 3 Linear; here 2x2 instead of 7x7 maps.
    m = VGG(make_layers([8, "M", 16, "M", 16, 16, "M", 24, 24, "M", 24, 24, "M"],
                        batch_norm=bn), num_classes=10)
    m.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    m.classifier = nn.Sequential(
        nn.Linear(24 * 2 * 2, 32), nn.ReLU(True), nn.Dropout(),
        nn.Linear(32, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10))
    return m


def small_resnet18():
    m = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
    w = [8, 12, 16, 24]   # 64, 128, 256, 512 in ResNet-18
    m.inplanes = w[0]
    m.conv1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False)
    m.bn1 = nn.BatchNorm2d(w[0])
    m.layer1 = m._make_layer(BasicBlock, w[0], 2)
    m.layer2 = m._make_layer(BasicBlock, w[1], 2, stride=2)
    m.layer3 = m._make_layer(BasicBlock, w[2], 2, stride=2)
    m.layer4 = m._make_layer(BasicBlock, w[3], 2, stride=2)
    m.fc = nn.Linear(w[3], 10)
    return m


def small_mobilenet_v2():
    m = MobileNetV2(num_classes=10, width_mult=0.15)   # 17 inverted residual blocks
    last_in = m.features[-1][0].in_channels
    m.features[-1] = Conv2dNormActivation(last_in, 64, kernel_size=1,
                                          activation_layer=nn.ReLU6)   # 1280 originally
    m.classifier[1] = nn.Linear(64, 10)
    return m


def small_squeezenet11():
    m = SqueezeNet(version="1_1", num_classes=10)
    m.features = nn.Sequential(   # SqueezeNet 1.1 with every width / 8
        nn.Conv2d(3, 8, 3, 2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(8, 2, 8, 8), Fire(16, 2, 8, 8),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(16, 4, 16, 16), Fire(32, 4, 16, 16),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(32, 6, 24, 24), Fire(48, 6, 24, 24), Fire(48, 8, 32, 32), Fire(64, 8, 32, 32))
    m.classifier[1] = nn.Conv2d(64, 10, 1)
    return m


def head_as_convs(linears_and_acts, feat, trained_map):
    """Run a Linear/ReLU/Dropout head as convolutions on feat (N,C,H,W)."""
    y, first = feat, True
    for mod in linears_and_acts:
        if isinstance(mod, nn.Linear):
            n, k = mod.weight.shape
            if first:
                c, h, w = trained_map
                wt = mod.weight.reshape(n, c, h, w)
            else:
                wt = mod.weight.reshape(n, k, 1, 1)
            y = F.conv2d(y, wt, mod.bias)
            first = False
        elif isinstance(mod, nn.ReLU):
            y = F.relu(y)
        elif isinstance(mod, nn.Dropout):
            pass
        else:
            raise AssertionError(mod)
    return y


def windows(feat, h, w, fn):
    """fn applied to every h x w window of feat (1,C,H,W): (1,N,H-h+1,W-w+1)."""
    H, W = feat.shape[2:]
    rows = []
    for i in range(H - h + 1):
        rows.append(torch.stack([fn(feat[:, :, i:i + h, j:j + w]).reshape(1, -1)
                                 for j in range(W - w + 1)], dim=-1))
    return torch.stack(rows, dim=-2)


def dense_case(fx, case, make, trained, larger, seed, tol, in_seed=1, export_kw=None,
               conv_extra=(), last=lambda m: m.classifier[-1]):
    """AlexNet / VGG: Flatten -> Dense heads."""
    torch.manual_seed(seed)   # before construction: torchvision's own init is random
    model = randomize(make(), seed)
    scale_logits(model, last(model), trained, in_seed)
    d = fx.case_dir(case)
    onnx_path = os.path.join(fx.tmp, case + ".onnx")
    export(model, (1,) + trained, onnx_path, **(export_kw or {}))
    ops = onnx_ops(onnx_path)
    # At the trained size the adaptive pool is an identity (checked below on
    # the features); the exporter writes it as AveragePool 1x1 stride 1.
    for nd in onnx.load(onnx_path).graph.node:
        if nd.op_type in ("AveragePool", "GlobalAveragePool"):
            at = {a.name: list(helper.get_attribute_value(a)) for a in nd.attribute
                  if a.name in ("kernel_shape", "strides")}
            assert nd.op_type == "AveragePool" and at == {"kernel_shape": [1, 1],
                                                          "strides": [1, 1]}, (case, nd)
    convert(onnx_path, os.path.join(d, "model.bin"), IMAGENET + list(conv_extra))
    md = model.double()
    for k, shape in enumerate([trained, larger]):
        rel, x = fx.shared_input(*shape, seed=in_seed)
        xt = t64(x)
        feat = md.features(xt)
        if k == 0:
            fmap = tuple(feat.shape[1:])
            agree(md.avgpool(feat), feat, case + ": adaptive pool is an identity")
            ref = md(xt)
            fx.add(case, rel, f32(ref), tol)
            continue
        ref = head_as_convs(md.classifier, feat, fmap)
        alt = windows(feat, fmap[1], fmap[2],
                      lambda f: md.classifier(torch.flatten(md.avgpool(f), 1)))
        agree(ref, alt, case + ": FCN vs classifier on every window")
        fx.add(case, rel, f32(ref), tol)
    return ops


def gap_case(fx, case, make, trained, larger, seed, tol, backbone, head, last, in_seed=1,
             export_kw=None, conv_extra=()):
    """ResNet / MobileNetV2 / SqueezeNet: global-pool heads. backbone(x) -> map
    before the global pool; head(map) -> scores after it, per cell (as 1x1)."""
    torch.manual_seed(seed)   # before construction: torchvision's own init is random
    model = randomize(make(), seed)
    scale_logits(model, last(model), trained, in_seed)
    d = fx.case_dir(case)
    onnx_path = os.path.join(fx.tmp, case + ".onnx")
    export(model, (1,) + trained, onnx_path, **(export_kw or {}))
    ops = onnx_ops(onnx_path)
    convert(onnx_path, os.path.join(d, "model.bin"), IMAGENET + list(conv_extra))
    md = model.double()
    rel, x = fx.shared_input(*trained, seed=in_seed)
    xt = t64(x)
    fmap = backbone(md, xt).shape[2:]
    ref = md(xt)
    agree(head(md, F.adaptive_avg_pool2d(backbone(md, xt), 1)).reshape(ref.shape), ref,
          case + ": backbone/head split")
    fx.add(case, rel, f32(ref), tol)
    rel, x = fx.shared_input(*larger, seed=in_seed)
    feat = backbone(md, t64(x))
    ref = head(md, F.avg_pool2d(feat, tuple(fmap), stride=1))
    alt = windows(feat, fmap[0], fmap[1], lambda f: head(md, F.adaptive_avg_pool2d(f, 1)))
    agree(ref, alt, case + ": window pool vs global pool per window")
    fx.add(case, rel, f32(ref), tol)
    fx.add(case, rel, f32(head(md, feat)), tol, "gap=local")
    return ops


def resnet_backbone(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    return m.layer4(m.layer3(m.layer2(m.layer1(x))))


def fc_as_1x1(fc):
    return lambda m, f: F.conv2d(f, fc(m).weight[:, :, None, None], fc(m).bias)


# --------------------------------------------------------------------------
# torch_ops: legacy view(), dynamic axes, pools, activations

class TorchOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.p1 = nn.MaxPool2d(2, 2, ceil_mode=True)                    # 19 -> 10
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.p2 = nn.AvgPool2d(3, 2, 1, ceil_mode=True)                 # 10 -> 6 (Pad+AvgPool)
        self.c3 = nn.Conv2d(8, 12, 1)
        self.p3 = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)  # 6 -> 4
        self.fc1 = nn.Linear(12 * 4 * 4, 24)
        self.fc2 = nn.Linear(24, 7)

    def features(self, x):
        x = F.relu6(self.bn1(self.c1(x)))
        x = self.p1(x)
        x = F.hardswish(self.c2(x))
        x = self.p2(x)
        x = F.leaky_relu(self.c3(x), 0.1)
        return self.p3(x)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return torch.softmax(torch.sigmoid(self.fc2(torch.tanh(self.fc1(x)))) * 4.0, dim=1)

    def fcn(self, x):  # hand-converted
        f = self.features(x)
        y = F.conv2d(f, self.fc1.weight.reshape(24, 12, 4, 4), self.fc1.bias)
        y = F.conv2d(torch.tanh(y), self.fc2.weight[:, :, None, None], self.fc2.bias)
        return torch.softmax(torch.sigmoid(y) * 4.0, dim=1)


def torch_ops_case(fx):
    case, seed = "torch_ops", 7
    torch.manual_seed(seed)
    m = randomize(TorchOps(), seed)
    x = torch.from_numpy(rand_input((3, 19, 19), 70))[None]
    z = m.fc2(torch.tanh(m.fc1(m.features(x).flatten(1))))
    m.fc2.weight.data *= 4.0 / float(z.abs().max())   # a softmax far from uniform
    m.fc2.bias.data *= 4.0 / float(z.abs().max())
    d = fx.case_dir(case)
    p = os.path.join(fx.tmp, case + ".onnx")
    export(m, (1, 3, 19, 19), p, dynamic={0: "batch", 2: "height", 3: "width"})
    ops = onnx_ops(p)
    assert "Shape" in ops and "HardSigmoid" in ops and "Pad" in ops, ops
    convert(p, os.path.join(d, "model.bin"), ["--input-size", "3x19x19"])
    md = m.double()
    for k, shape in enumerate([(3, 19, 19), (3, 29, 36)]):
        rel = fx.npy("%s/in_%d.npy" % (case, k), rand_input(shape, 70 + k))
        x = t64(rand_input(shape, 70 + k))
        ref = md(x) if k == 0 else md.fcn(x)
        if k == 0:
            agree(md.fcn(x).reshape(ref.shape), ref, case + ": fcn at trained size")
        fx.add(case, rel, f32(ref), TOL)
    return ops


# --------------------------------------------------------------------------
# Hand-built ONNX graphs (onnx.helper), tf2onnx style and rarer ops

class G:
    """A small onnx.helper graph builder."""

    def __init__(self, name):
        self.name, self.nodes, self.inits, self.k = name, [], [], 0

    def w(self, arr, name=None):
        self.k += 1
        name = name or "w%d" % self.k
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def n(self, op, ins, nout=1, **attrs):
        self.k += 1
        outs = ["%s_%d_out%s" % (op.lower(), self.k, "" if i == 0 else str(i))
                for i in range(nout)]
        self.nodes.append(helper.make_node(op, ins, outs, name="%s_%d" % (op, self.k),
                                           **attrs))
        return outs[0] if nout == 1 else outs

    def const(self, arr):
        self.k += 1
        out = "const_%d" % self.k
        self.nodes.append(helper.make_node("Constant", [], [out], name="Constant_%d" % self.k,
                                           value=numpy_helper.from_array(np.asarray(arr))))
        return out

    def save(self, path, inp_shape, out, classes, opset, producer="tf2onnx"):
        gi = helper.make_tensor_value_info("input", TensorProto.FLOAT, inp_shape)
        go = helper.make_tensor_value_info(out, TensorProto.FLOAT, [inp_shape[0], classes])
        graph = helper.make_graph(self.nodes, self.name, [gi], [go], self.inits)
        m = helper.make_model(graph, producer_name=producer,
                              opset_imports=[helper.make_opsetid("", opset)])
        onnx.checker.check_model(m)
        onnx.save(m, path)


def tf2onnx_dense_case(fx):
    """Conv -> Transpose(0,2,3,1) -> Reshape(1,-1) -> MatMul -> Add (Keras Flatten/Dense)."""
    case = "tf2onnx_dense"
    r = np.random.RandomState(11)
    w1 = r.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32)
    b1 = r.uniform(-0.1, 0.1, 6).astype(np.float32)
    w2 = r.normal(0, 0.2, (5, 6, 3, 3)).astype(np.float32)
    b2 = r.uniform(-0.1, 0.1, 5).astype(np.float32)
    d1 = r.normal(0, 0.15, (5 * 4 * 4, 16)).astype(np.float32)   # Keras kernel [K, N]
    e1 = r.uniform(-0.1, 0.1, 16).astype(np.float32)
    d2 = r.normal(0, 0.3, (16, 5)).astype(np.float32)
    e2 = r.uniform(-0.1, 0.1, 5).astype(np.float32)
    g = G("tf2onnx_dense")
    t = g.n("Conv", ["input", g.w(w1, "conv2d/kernel"), g.w(b1, "conv2d/bias")],
            auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[3, 3])   # 12 -> 6, pad 0/1
    t = g.n("Relu", [t])
    t = g.n("Conv", [t, g.w(w2), g.w(b2)], kernel_shape=[3, 3], pads=[0, 0, 0, 0])  # 6 -> 4
    t = g.n("Relu", [t])
    t = g.n("Transpose", [t], perm=[0, 2, 3, 1])
    t = g.n("Reshape", [t, g.w(np.array([1, -1], np.int64), "flatten/Const")])
    t = g.n("MatMul", [t, g.w(d1, "dense/kernel")])
    t = g.n("Add", [t, g.w(e1, "dense/bias")])
    t = g.n("Relu", [t])
    t = g.n("MatMul", [t, g.w(d2, "dense_1/kernel")])
    t = g.n("Add", [t, g.w(e2, "dense_1/bias")])
    out = g.n("Softmax", [t], axis=1)
    p = os.path.join(fx.tmp, case + ".onnx")
    g.save(p, ["unk__0", 3, 12, 12], out, 5, 13)
    fx.case_dir(case)
    convert(p, os.path.join(fx.out, case, "model.bin"))

    def backbone(x):
        y = np.maximum(np_conv(x, w1, b1, (2, 2), (0, 0, 1, 1)), 0)   # SAME_UPPER at 12
        return np.maximum(np_conv(y, w2, b2), 0)

    def head(f):  # f (5,4,4): flatten channels-last
        z = np.maximum(f.transpose(1, 2, 0).reshape(-1) @ d1 + e1, 0) @ d2 + e2
        return np_softmax(z)
    for k, shape in enumerate([(3, 12, 12), (3, 20, 26)]):
        x = rand_input(shape, 110 + k)
        rel = fx.npy("%s/in_%d.npy" % (case, k), x)
        f = backbone(x)
        # the hand-converted FCN: dense kernel [K=(y*4+x)*5+c, N] -> filter [N, c, y, x]
        wc = d1.T.reshape(16, 4, 4, 5).transpose(0, 3, 1, 2)
        y = np.maximum(np_conv(f, wc, e1), 0)
        z = np_softmax(np.einsum("kn,khw->nhw", d2.astype(np.float64), y) + e2[:, None, None])
        win = np.stack([np.stack([head(f[:, i:i + 4, j:j + 4]) for j in range(f.shape[2] - 3)],
                                 -1) for i in range(f.shape[1] - 3)], -2)
        agree(z, win, case + ": FCN vs head on every window")
        fx.add(case, rel, z, TOL)


def tf2onnx_gap_case(fx):
    """NHWC input -> Transpose(0,3,1,2) -> convs -> ReduceMean(2,3) -> MatMul -> Add."""
    case = "tf2onnx_gap"
    r = np.random.RandomState(12)
    w1 = r.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = r.uniform(-0.1, 0.1, 8).astype(np.float32)
    w2 = r.normal(0, 0.2, (8, 8, 3, 3)).astype(np.float32)
    b2 = r.uniform(-0.1, 0.1, 8).astype(np.float32)
    d1 = r.normal(0, 0.3, (8, 6)).astype(np.float32)
    e1 = r.uniform(-0.1, 0.1, 6).astype(np.float32)
    g = G("tf2onnx_gap")
    t = g.n("Transpose", ["input"], perm=[0, 3, 1, 2])
    t = g.n("Conv", [t, g.w(w1), g.w(b1)], kernel_shape=[3, 3], strides=[2, 2],
            pads=[0, 0, 1, 1])          # explicit asymmetric (SAME at 16)
    t = g.n("Relu", [t])
    t = g.n("Conv", [t, g.w(w2), g.w(b2)], kernel_shape=[3, 3], auto_pad="VALID")
    t = g.n("Relu", [t])
    t = g.n("ReduceMean", [t], axes=[2, 3], keepdims=0)
    t = g.n("MatMul", [t, g.w(d1)])
    out = g.n("Add", [g.w(e1), t])
    p = os.path.join(fx.tmp, case + ".onnx")
    g.save(p, ["N", 16, 16, 3], out, 6, 13)
    fx.case_dir(case)
    convert(p, os.path.join(fx.out, case, "model.bin"))

    def backbone(x):
        y = np.maximum(np_conv(x, w1, b1, (2, 2), (0, 0, 1, 1)), 0)
        return np.maximum(np_conv(y, w2, b2), 0)
    fm = backbone(rand_input((3, 16, 16), 120)).shape[1:]
    for k, shape in enumerate([(3, 16, 16), (3, 25, 30)]):
        x = rand_input(shape, 120 + k)
        rel = fx.npy("%s/in_%d.npy" % (case, k), x)
        f = backbone(x)
        head = lambda v: np.einsum("cn,chw->nhw", d1.astype(np.float64), v) + e1[:, None, None]
        if k == 0:
            fx.add(case, rel, head(f.mean(axis=(1, 2))[:, None, None]), TOL)
            continue
        H, W = f.shape[1] - fm[0] + 1, f.shape[2] - fm[1] + 1
        pooled = np.stack([np.stack([f[:, i:i + fm[0], j:j + fm[1]].mean(axis=(1, 2))
                                     for j in range(W)], -1) for i in range(H)], -2)
        fx.add(case, rel, head(pooled), TOL)
        fx.add(case, rel, head(f), TOL, "gap=local")


def onnx_lrn(x, size, alpha, beta, bias):
    """ONNX LRN: the square sum runs over channels [c - (size-1)//2, c + ceil((size-1)/2)]."""
    C = x.shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = F.pad(x * x, (0, 0, 0, 0, lo, hi))
    s = sum(sq[:, i:i + C] for i in range(size))
    return x / (bias + alpha / size * s) ** beta


def onnx_ops_case(fx):
    case = "onnx_ops"
    r = np.random.RandomState(13)

    def rn(*s, sd=0.3):
        return r.normal(0, sd, s).astype(np.float32)

    def ru(*s, lo=-0.1, hi=0.1):
        return r.uniform(lo, hi, s).astype(np.float32)
    W = dict(
        c1=rn(8, 3, 3, 3), b1=ru(8),
        c2=rn(8, 4, 3, 3, sd=0.25), add2=ru(1, 8, 1, 1),
        c3=rn(4, 8, 1, 1, sd=0.4), b3=ru(4),
        bn=[ru(20, lo=0.5, hi=1.5), ru(20), ru(20, lo=-0.2, hi=0.2), ru(20, lo=0.5, hi=1.5)],
        c4=rn(12, 20, 3, 3, sd=0.15), b4=ru(12),
        c5=rn(12, 12, 1, 1, sd=0.3), b5=ru(12),
        g1=rn(12, 16, sd=0.4), g1c=ru(16),     # Gemm transB=0: B is [K, N]
        g2=rn(6, 16, sd=0.4), g2c=ru(1, 6))    # Gemm transB=1: B is [N, K]
    g = G("onnx_ops")
    t = g.n("Transpose", ["input"], perm=[0, 3, 1, 2])
    # 20 -> 10; SAME_LOWER, total pad 1 -> top/left 1, bottom/right 0
    t = g.n("Conv", [t, g.w(W["c1"]), g.w(W["b1"])], auto_pad="SAME_LOWER", strides=[2, 2])
    t = g.n("LeakyRelu", [t], alpha=0.2)
    t = g.n("Pad", [t, g.w(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)),
                    g.const(np.array(0.5, np.float32))], mode="constant")   # 13x13
    t = g.n("Conv", [t, g.w(W["c2"])], group=2, dilations=[2, 2])           # 9x9
    t = g.n("Add", [t, g.w(W["add2"])])                                     # folded bias
    t = g.n("HardSigmoid", [t], alpha=0.3, beta=0.4)
    a = g.n("LRN", [t], size=5, alpha=0.05, beta=0.75, bias=2.0)
    b = g.n("Tanh", [g.n("Conv", [t, g.w(W["c3"]), g.w(W["b3"])])])
    c = g.n("Sigmoid", [g.n("MaxPool", [t], kernel_shape=[3, 3], pads=[1, 1, 1, 1])])
    t = g.n("Concat", [a, b, c], axis=1)                                    # 20 ch
    t = g.n("BatchNormalization", [t] + [g.w(v) for v in W["bn"]], epsilon=1e-3)
    t = g.n("Clip", [t, g.const(np.array(-0.8, np.float32)), g.w(np.array(1.2, np.float32))])
    t = g.n("AveragePool", [t], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
            ceil_mode=1, count_include_pad=1)                               # 9 -> 5
    t = g.n("Conv", [t, g.w(W["c4"]), g.w(W["b4"])], pads=[1, 1, 1, 1])   # 5x5, 12 ch
    t = g.n("Mul", [g.w(np.array([1.5], np.float32)), t])
    t = g.n("Div", [t, g.const(np.array(2.0, np.float32))])
    t = g.n("HardSwish", [t])
    u = g.n("Relu", [g.n("Conv", [t, g.w(W["c5"]), g.w(W["b5"])])])
    t = g.n("Sum", [t, u])
    t = g.n("AveragePool", [t], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)  # 5 -> 3
    t = g.n("GlobalMaxPool", [t])
    t = g.n("Flatten", [t], axis=1)
    t = g.n("Gemm", [t, g.w(W["g1"]), g.w(W["g1c"])], alpha=0.5, beta=2.0)
    t = g.n("Dropout", [t])
    t = g.n("Gemm", [t, g.w(W["g2"]), g.w(W["g2c"])], transB=1)
    out = g.n("Softmax", [t], axis=1)
    p = os.path.join(fx.tmp, case + ".onnx")
    g.save(p, [1, 20, 20, 3], out, 6, 14, producer="hand-built")
    fx.case_dir(case)
    convert(p, os.path.join(fx.out, case, "model.bin"))

    T = {k: (torch.from_numpy(np.asarray(v, np.float64)) if not isinstance(v, list)
             else [torch.from_numpy(np.asarray(q, np.float64)) for q in v]) for k, v in W.items()}

    def backbone(x):
        y = F.conv2d(F.pad(x, (1, 0, 1, 0)), T["c1"], T["b1"], stride=2)
        y = F.leaky_relu(y, 0.2)
        y = F.pad(y, (2, 1, 1, 2), value=0.5)
        y = F.conv2d(y, T["c2"], groups=2, dilation=2) + T["add2"]
        y = torch.clamp(0.3 * y + 0.4, 0, 1)
        a = onnx_lrn(y, 5, 0.05, 0.75, 2.0)
        b = torch.tanh(F.conv2d(y, T["c3"], T["b3"]))
        c = torch.sigmoid(F.max_pool2d(y, 3, 1, 1))
        y = torch.cat([a, b, c], 1)
        s, sh, mu, var = T["bn"]
        y = (y - mu[:, None, None]) / torch.sqrt(var[:, None, None] + 1e-3) * \
            s[:, None, None] + sh[:, None, None]
        y = torch.clamp(y, -0.8, 1.2)
        y = F.avg_pool2d(y, 3, 2, 1, ceil_mode=True, count_include_pad=True)
        y = F.conv2d(y, T["c4"], T["b4"], padding=1) * 1.5 / 2.0
        y = F.hardswish(y)
        y = y + F.relu(F.conv2d(y, T["c5"], T["b5"]))
        return F.avg_pool2d(y, 2, 2, ceil_mode=True, count_include_pad=False)

    def head(v):  # v (1,12,H,W) after the global pool, per cell
        z = F.conv2d(v, (0.5 * T["g1"]).T[:, :, None, None], 2.0 * T["g1c"])
        z = F.conv2d(z, T["g2"][:, :, None, None], T["g2c"].reshape(-1))
        return torch.softmax(z, 1)
    fm = backbone(t64(rand_input((3, 20, 20), 130))).shape[2:]
    for k, shape in enumerate([(3, 20, 20), (3, 31, 27)]):
        x = rand_input(shape, 130 + k)
        rel = fx.npy("%s/in_%d.npy" % (case, k), x)
        f = backbone(t64(x))
        if k == 0:
            ref = head(F.adaptive_max_pool2d(f, 1))
            fx.add(case, rel, f32(ref), TOL)
            continue
        ref = head(F.max_pool2d(f, tuple(fm), stride=1))
        alt = windows(f, fm[0], fm[1], lambda v: head(F.adaptive_max_pool2d(v, 1)))
        agree(ref, alt, case + ": window max pool")
        fx.add(case, rel, f32(ref), TOL)
        fx.add(case, rel, f32(head(f)), TOL, "gap=local")


# --------------------------------------------------------------------------

HEADER = """\
# ONNX converter fixtures, generated by tools/dev/gen_onnx_fixtures.py (do not edit).
# <case> <model> <input.npy> <expected.npy> <tolerance> <options>
# Paths are relative to this directory. model.bin: the ONNX model (not kept)
# converted by tools/fcn-convert. input: float32 (C,H,W) fed as-is; expected:
# float32 (classes,H',W') computed in float64 by PyTorch (torchvision models,
# torch_ops, onnx_ops) or NumPy (tf2onnx_*): at the trained size the classifier
# itself; on larger inputs the hand-converted FCN (Linear -> Conv2d; global pool
# -> window of the trained map, stride 1; gap=local: no pool).
# Pass when max|got - expected| <= tolerance * max(1, max|expected|).
# Tolerance: 1e-4 on every line, the same as tests/fixtures. fcn computes in
# float32 (im2col + SGEMM, BatchNorm folded into the convs), the references in
# float64; the largest error the generator's models show is about 1e-6 of the
# scale (mobilenet_v2, 52 conv layers, and resnet18 included), so none of the
# deep models needs 1e-3, and a conversion mistake (a wrong flatten order,
# padding, bias, pool or window) shows up as an error of 1e-2 or more: the last
# layer is scaled so that the scores reach about +-5 (softmax outputs: 0..1).
"""


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Generate tests/fixtures-onnx.")
    ap.add_argument("outdir", nargs="?", default=os.path.join(ROOT, "tests", "fixtures-onnx"))
    ap.add_argument("--keep-onnx", metavar="DIR",
                    help="also copy the generated .onnx files there (not committed)")
    args = ap.parse_args()
    out = args.outdir
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    fx = Fixtures(out)
    try:
        ops = {}
        ops["alexnet"] = dense_case(
            fx, "alexnet", small_alexnet, (3, 95, 95), (3, 127, 159), 1, TOL,
            in_seed=2, export_kw={"dynamic": {0: "batch"}})
        ops["vgg11"] = dense_case(fx, "vgg11", lambda: small_vgg11(False), (3, 64, 64),
                                  (3, 128, 128), 2, TOL)
        # PRESERVE + no constant folding: BatchNormalization stays in the ONNX
        # graph (an eval-mode export folds it into the convs, as for resnet18).
        ops["vgg11_bn"] = dense_case(
            fx, "vgg11_bn", lambda: small_vgg11(True), (3, 64, 64), (3, 128, 128), 3, TOL,
            export_kw={"training": torch.onnx.TrainingMode.PRESERVE,
                       "do_constant_folding": False})
        assert "BatchNormalization" in ops["vgg11_bn"]
        ops["resnet18"] = gap_case(
            fx, "resnet18", small_resnet18, (3, 64, 64), (3, 96, 112), 4, TOL,
            resnet_backbone, fc_as_1x1(lambda m: m.fc), lambda m: m.fc,
            export_kw={"dynamic": {0: "batch", 2: "height", 3: "width"}},
            conv_extra=["--input-size", "3x64x64"])
        ops["mobilenet_v2"] = gap_case(
            fx, "mobilenet_v2", small_mobilenet_v2, (3, 64, 64), (3, 96, 112), 5, TOL,
            lambda m, x: m.features(x), fc_as_1x1(lambda m: m.classifier[1]),
            lambda m: m.classifier[1])
        ops["squeezenet1_1"] = gap_case(
            fx, "squeezenet1_1", small_squeezenet11, (3, 64, 64), (3, 96, 112), 6,
            TOL,
            lambda m, x: m.classifier[2](m.classifier[1](m.features(x))),
            lambda m, f: f, lambda m: m.classifier[1])
        ops["torch_ops"] = torch_ops_case(fx)
        tf2onnx_dense_case(fx)
        tf2onnx_gap_case(fx)
        onnx_ops_case(fx)
        if args.keep_onnx:
            os.makedirs(args.keep_onnx, exist_ok=True)
            for f in sorted(os.listdir(fx.tmp)):
                shutil.copy(os.path.join(fx.tmp, f), args.keep_onnx)
    finally:
        shutil.rmtree(fx.tmp, ignore_errors=True)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write(HEADER)
        f.write("\n".join(fx.lines) + "\n")
    for k, v in ops.items():
        print("%-14s ONNX ops: %s" % (k, " ".join(sorted(set(v)))))
    print("wrote %d checks to %s" % (len(fx.lines), out))


if __name__ == "__main__":
    main()
