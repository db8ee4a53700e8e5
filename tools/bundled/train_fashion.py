"""Train fcn's bundled model, models/fashion.bin, on Fashion-MNIST.

A small CNN classifier on 1x28x28 grayscale input, VALID padding only, so that
every cell of the fully convolutional score map fcn derives from it equals the
classifier run on the corresponding 28x28 crop (overall stride 4):

    conv1  Conv 1->16, 3x3      28 -> 26     relu1
    conv2  Conv 16->32, 3x3     26 -> 24     relu2
    pool1  MaxPool 2x2          24 -> 12
    conv3  Conv 32->32, 3x3     12 -> 10     relu3
    pool2  MaxPool 2x2          10 -> 5      (32 x 5 x 5)
    flatten (chw) -> fc1 Dense 800->64, relu4, dropout (p=0.3)
    fc2 Dense 64->11, softmax

11 classes: the 10 Fashion-MNIST classes plus "background" (patches with no
centred item: textured black background, or items shifted >= 10 px so they are
only partly visible / off-centre). See fashion_common.py for the patch
generators and models/README.md for the figures.

Usage:  /usr/bin/python3 -m tools.bundled.train_fashion [--epochs 8] [--seed 1234] [--out models/fashion.bin]
        (Adam, one-cycle learning rate up to 3e-3, batch 256; each epoch: all
        60000 training items, freshly augmented, + 15000 background patches)
Needs:  numpy, torch (Debian: python3-numpy, python3-torch), the Debian
        Fashion-MNIST files in /usr/share/datasets/fashion-mnist.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import ROOT
from ..fcnconv import modelbin
from . import fashion_common as fc

DROPOUT = 0.3


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.conv3 = nn.Conv2d(32, 32, 3)
        self.fc1 = nn.Linear(32 * 5 * 5, 64)
        self.drop = nn.Dropout(DROPOUT)
        self.fc2 = nn.Linear(64, len(fc.LABELS))

    def forward(self, x):            # returns logits; Softmax is added at export
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = torch.flatten(x, 1)      # channels-first, as Flatten(order="chw")
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)


def make_epoch(rng, x_train, y_train, n_bg):
    """One epoch of freshly augmented data: every training item once (shifted
    by <= 2 px onto a random background) plus n_bg background patches."""
    xi = np.empty((len(x_train), 28, 28), np.uint8)
    idx = np.arange(len(x_train))
    for s in range(0, len(idx), 10000):
        xi[s:s + 10000] = fc.item_patches(rng, x_train, idx[s:s + 10000])
    xb = np.empty((n_bg, 28, 28), np.uint8)
    for s in range(0, n_bg, 10000):
        xb[s:s + 10000] = fc.background_patches(rng, x_train, min(10000, n_bg - s))
    x = np.concatenate([xi, xb])
    y = np.concatenate([y_train, np.full(n_bg, fc.BACKGROUND, np.int64)])
    return x, y


def predict(net, x_u8, batch=1000):
    net.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x_u8), batch):
            xb = torch.from_numpy(fc.preprocess(x_u8[s:s + batch])[:, None])
            out.append(net(xb))
    return torch.cat(out).numpy()


def evaluate(net, x_test, y_test, seed):
    """Figures on the official t10k split only (never seen in training)."""
    r = {}
    logits = predict(net, x_test)
    r["test_acc_11way"] = float((logits.argmax(1) == y_test).mean())
    r["test_acc_10way"] = float((logits[:, :10].argmax(1) == y_test).mean())
    r["test_pred_background"] = float((logits.argmax(1) == fc.BACKGROUND).mean())
    rng = np.random.default_rng(seed + 1000)          # held-out patches from t10k
    xi = fc.item_patches(rng, x_test, np.arange(len(x_test)))
    li = predict(net, xi)
    r["canvas_items_acc_11way"] = float((li.argmax(1) == y_test).mean())
    r["canvas_items_not_background"] = float((li.argmax(1) != fc.BACKGROUND).mean())
    xb = fc.background_patches(rng, x_test, 10000)
    lb = predict(net, xb)
    r["bg_patches_background"] = float((lb.argmax(1) == fc.BACKGROUND).mean())
    n = len(y_test) + len(xb)
    r["bg_vs_item_acc"] = float(((li.argmax(1) != fc.BACKGROUND).sum() +
                                 (lb.argmax(1) == fc.BACKGROUND).sum()) / n)
    return r


def export(net, path, seed, epochs):
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    # The name holds the script's path when models/fashion.bin was made (kept: the
    # file regenerates byte-identically).
    m = modelbin.Model(
        input_shape=(1, 28, 28), labels=fc.LABELS, color="gray",
        scale=float(fc.SCALE), mean=[float(fc.MEAN)], std=[float(fc.STD)],
        name="Fashion-MNIST CNN + background class (tools/train_fashion.py --seed %d --epochs %d)"
             % (seed, epochs))
    m.add("Conv", "conv1", ["input"], "conv1", {"kernel": [3, 3]},
          weight=sd["conv1.weight"], bias=sd["conv1.bias"])
    m.add("Relu", "relu1", ["conv1"], "relu1")
    m.add("Conv", "conv2", ["relu1"], "conv2", {"kernel": [3, 3]},
          weight=sd["conv2.weight"], bias=sd["conv2.bias"])
    m.add("Relu", "relu2", ["conv2"], "relu2")
    m.add("MaxPool", "pool1", ["relu2"], "pool1", {"kernel": [2, 2], "stride": [2, 2]})
    m.add("Conv", "conv3", ["pool1"], "conv3", {"kernel": [3, 3]},
          weight=sd["conv3.weight"], bias=sd["conv3.bias"])
    m.add("Relu", "relu3", ["conv3"], "relu3")
    m.add("MaxPool", "pool2", ["relu3"], "pool2", {"kernel": [2, 2], "stride": [2, 2]})
    m.add("Flatten", "flatten", ["pool2"], "flatten", {"order": "chw"})
    m.add("Dense", "fc1", ["flatten"], "fc1", weight=sd["fc1.weight"], bias=sd["fc1.bias"])
    m.add("Relu", "relu4", ["fc1"], "relu4")
    m.add("Dropout", "dropout", ["relu4"], "dropout")
    m.add("Dense", "fc2", ["dropout"], "fc2", weight=sd["fc2.weight"], bias=sd["fc2.bias"])
    m.add("Softmax", "softmax", ["fc2"], "prob")
    m.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--bg-per-epoch", type=int, default=15000,
                    help="background patches per epoch (items: all 60000)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "fashion.bin"))
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(a.seed)

    x_train, y_train = fc.load_split("train")
    x_test, y_test = fc.load_split("t10k")
    print("train %s, test %s" % (x_train.shape, x_test.shape), flush=True)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    n_per_epoch = len(x_train) + a.bg_per_epoch
    steps = a.epochs * ((n_per_epoch + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(a.seed)

    t0 = time.perf_counter()
    for ep in range(a.epochs):
        te = time.perf_counter()
        x, y = make_epoch(rng, x_train, y_train, a.bg_per_epoch)
        tg = time.perf_counter() - te
        xt = torch.from_numpy(fc.preprocess(x)[:, None])
        yt = torch.from_numpy(y)
        perm = torch.randperm(len(yt), generator=gen)
        net.train()
        tot, correct, seen = 0.0, 0, 0
        for s in range(0, len(perm), a.batch):
            b = perm[s:s + a.batch]
            logits = net(xt[b])
            loss = F.cross_entropy(logits, yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(b)
            correct += int((logits.argmax(1) == yt[b]).sum())
            seen += len(b)
        print("epoch %d/%d: loss %.4f, train acc %.4f (data %.1fs, epoch %.1fs)"
              % (ep + 1, a.epochs, tot / seen, correct / seen, tg, time.perf_counter() - te),
              flush=True)
    train_s = time.perf_counter() - t0
    print("training time: %.1f s (%d threads)" % (train_s, a.threads))

    r = evaluate(net, x_test, y_test, a.seed)
    print("t10k test accuracy, argmax over 11 outputs: %.4f" % r["test_acc_11way"])
    print("t10k test accuracy, argmax over the 10 item classes: %.4f" % r["test_acc_10way"])
    print("t10k test images predicted 'background': %.4f" % r["test_pred_background"])
    print("held-out t10k items on textured background (shift <= 2 px): acc %.4f, "
          "not background %.4f" % (r["canvas_items_acc_11way"], r["canvas_items_not_background"]))
    print("held-out background patches from t10k: predicted background %.4f"
          % r["bg_patches_background"])
    print("background-vs-item accuracy (10000 items + 10000 background patches): %.4f"
          % r["bg_vs_item_acc"])

    out = os.path.normpath(a.out)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    export(net, out, a.seed, a.epochs)
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
