"""Evaluate fcn-detect on a set made by make_detection_set.py: precision, recall, AP@0.5.

Runs fcn-detect once over every canvas of the set (the model loaded once,
--list) with a low score floor (--floor, default 0.05) so that the
precision/recall curve is complete, then per class:

  - detections of all canvases by decreasing score, each matched VOC-style
    to the ground-truth box of its class and canvas with the highest IoU;
    a true positive when that IoU >= 0.5 and the box is not matched yet,
    otherwise a false positive;
  - AP@0.5: area under the precision/recall curve with all-point
    interpolation (PASCAL VOC 2010+: precision made monotone from the right,
    summed over every recall step); mAP = mean over classes;
  - precision and recall at the operating threshold (--threshold, default
    fcn-detect's 0.9): the same matching cut at that score. Greedy NMS takes
    boxes by decreasing score, so the detections at or above the threshold
    are exactly those a run with --threshold would give.

Arguments after "--" go to fcn-detect (e.g. -- --scales 1,0.8 --iou 0.4).

Usage:  /usr/bin/python3 -m tools.bundled.eval_detect SETDIR [--fcn-detect build/fcn-detect]
            [--model models/fashion.bin] [--threshold 0.9] [--floor 0.05]
            [--detections FILE] [--save FILE] [--json FILE] [-- fcn-detect options]
Needs:  python3 only (no numpy).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

from .. import ROOT


def iou(a, b):
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def average_precision(rec, prec):
    """VOC all-point interpolation."""
    mrec = [0.0] + rec + [1.0]
    mpre = [0.0] + prec + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i + 1] - mrec[i]) * mpre[i + 1] for i in range(len(mrec) - 1)
               if mrec[i + 1] != mrec[i])


def evaluate(truth, dets, labels, threshold, match_iou=0.5):
    """truth: {image: [items]}, dets: {image: [detections]} -> per-class rows."""
    rows = []
    for label in labels:
        gt = {im: [it["box"] for it in items if it["label"] == label]
              for im, items in truth.items()}
        used = {im: [False] * len(b) for im, b in gt.items()}
        n_gt = sum(len(b) for b in gt.values())
        cand = sorted(((d["score"], im, d["box"]) for im, ds in dets.items()
                       for d in ds if d["label"] == label),
                      key=lambda t: -t[0])
        tp = fp = 0
        prec, rec = [], []
        tp_at = fp_at = 0
        for score, im, box in cand:
            best, bj = 0.0, -1
            for j, g in enumerate(gt.get(im, [])):
                o = iou(box, g)
                if o > best:
                    best, bj = o, j
            if best >= match_iou and not used[im][bj]:
                used[im][bj] = True
                tp += 1
            else:
                fp += 1
            if score >= threshold:
                tp_at, fp_at = tp, fp
            prec.append(tp / (tp + fp))
            rec.append(tp / n_gt if n_gt else 0.0)
        rows.append({
            "label": label, "gt": n_gt, "detections": tp_at + fp_at, "tp": tp_at,
            "precision": tp_at / (tp_at + fp_at) if tp_at + fp_at else 0.0,
            "recall": tp_at / n_gt if n_gt else 0.0,
            "ap": average_precision(rec, prec) if n_gt else 0.0,
        })
    return rows


def main():
    argv = sys.argv[1:]
    passthrough = []
    if "--" in argv:
        k = argv.index("--")
        argv, passthrough = argv[:k], argv[k + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("setdir")
    ap.add_argument("--fcn-detect", default=os.path.join(ROOT, "build", "fcn-detect"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "fashion.bin"))
    ap.add_argument("--threshold", type=float, default=0.9,
                    help="operating threshold for precision and recall")
    ap.add_argument("--floor", type=float, default=0.05,
                    help="--threshold given to fcn-detect (the curve starts there)")
    ap.add_argument("--detections", help="evaluate this fcn-detect JSON instead of running it")
    ap.add_argument("--save", help="keep fcn-detect's JSON here")
    ap.add_argument("--json", help="write the table as JSON here")
    a = ap.parse_args(argv)

    meta = json.load(open(os.path.join(a.setdir, "set.json")))
    truth, paths = {}, []
    for e in meta["images"]:
        p = os.path.join(a.setdir, e["image"])
        paths.append(p)
        truth[p] = json.load(open(os.path.join(a.setdir, e["truth"])))["items"]

    seconds = None
    cmd = None
    if a.detections:
        out = json.load(open(a.detections))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            lst = os.path.join(tmp, "list.txt")
            with open(lst, "w") as f:
                f.write("\n".join(paths) + "\n")
            res = a.save or os.path.join(tmp, "detections.json")
            cmd = [a.fcn_detect, a.model, "--list", lst, "--threshold", str(a.floor),
                   "--json", res, "--quiet"] + passthrough
            print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
            t0 = time.time()
            r = subprocess.run(cmd)
            seconds = time.time() - t0
            if r.returncode != 0:
                sys.exit("eval_detect: fcn-detect failed (exit %d)" % r.returncode)
            out = json.load(open(res))
    dets = {d["image"]: d["detections"] for d in out}
    missing = [p for p in paths if p not in dets]
    if missing:
        sys.exit("eval_detect: no detections for %s" % ", ".join(missing))
    if out and out[0].get("threshold", 0) > a.threshold:
        sys.exit("eval_detect: fcn-detect ran with --threshold %g, above --threshold %g"
                 % (out[0]["threshold"], a.threshold))

    labels = sorted({it["label"] for items in truth.values() for it in items},
                    key=lambda l: min(it["class"] for items in truth.values()
                                      for it in items if it["label"] == l))
    rows = evaluate(truth, dets, labels, a.threshold)
    n_gt = sum(r["gt"] for r in rows)
    n_det = sum(r["detections"] for r in rows)
    n_tp = sum(r["tp"] for r in rows)
    m_ap = sum(r["ap"] for r in rows) / len(rows)
    scales = out[0]["scales"]
    px = sum(d["width"] * d["height"] for d in out)
    print("set %s: %d canvases, %.1f Mpx, %d items (%s); model %s"
          % (a.setdir, len(out), px / 1e6, n_gt, meta.get("made_by", "?"), a.model))
    print("fcn-detect: scales %s, NMS IoU %s%s"
          % (",".join("%g" % s["scale"] for s in scales), out[0].get("iou"),
             ", %.1f s" % seconds if seconds else ""))
    print("precision and recall at threshold %g; AP@0.5 over scores >= %g"
          % (a.threshold, out[0].get("threshold", a.floor)))
    print()
    print("%-12s %6s %6s %6s %9s %7s %7s" % ("class", "items", "dets", "TP",
                                            "precision", "recall", "AP@0.5"))
    for r in rows:
        print("%-12s %6d %6d %6d %9.3f %7.3f %7.3f" % (r["label"], r["gt"], r["detections"],
                                                     r["tp"], r["precision"], r["recall"],
                                                     r["ap"]))
    print("%-12s %6d %6d %6d %9.3f %7.3f %7s" % ("all", n_gt, n_det, n_tp,
                                               n_tp / n_det if n_det else 0.0,
                                               n_tp / n_gt if n_gt else 0.0, ""))
    print("mAP@0.5 = %.3f" % m_ap)
    print()
    print("all classes at other thresholds:")
    for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
        if t < out[0].get("threshold", a.floor):
            continue
        r = evaluate(truth, dets, labels, t)
        nd, tp = sum(x["detections"] for x in r), sum(x["tp"] for x in r)
        p, rc = (tp / nd if nd else 0.0), tp / n_gt
        print("  threshold %.2f: %6d detections, precision %.3f, recall %.3f, F1 %.3f"
              % (t, nd, p, rc, 2 * p * rc / (p + rc) if p + rc else 0.0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"set": a.setdir, "command": cmd, "threshold": a.threshold,
                       "classes": rows, "mAP": m_ap,
                       "precision": n_tp / n_det if n_det else 0.0,
                       "recall": n_tp / n_gt if n_gt else 0.0}, f, indent=1)


if __name__ == "__main__":
    main()
