#!/usr/bin/python3
"""fcn against its peers: ONNX Runtime, PyTorch and OpenCV DNN on this CPU.

    benchmarks/peers.py [--quick] [--models vgg16,alexnet,resnet18]
                        [--sizes 224,1024] [--threads 1,2] [--repeat R]
                        [--warmup W] [--rss-size N] [--cache DIR]

For every row (a model at an input size) and thread count, each runtime runs
in its own child process, one after the other, on the same fp32 input: W
untimed runs, then R timed runs; the table gives the median, fcn's speed
ratio against each peer (peer_ms / fcn_ms: > 1 means fcn is faster) and each
child's peak RSS (its whole life: start, model load, runs).

Models are generated here (torchvision architectures, random weights, every
bias small and non-zero) into the cache directory, never committed:
  <m>.onnx      the classifier, ONNX opset 13, dynamic height/width. fcn runs
                it (tools/fcn-convert --input-size 3x224x224 -> <m>.bin): fcn
                turns the dense head into convolutions itself. The peers run
                it at 224x224.
  <m>_fcn.onnx  the same weights as a fully convolutional net, for the peers at
                every other size: VGG/AlexNet Linear layers -> Conv2d (first
                kernel = the 224 map, 7x7 / 6x6; then 1x1), the adaptive
                average pool (an identity at 224) dropped; ResNet's global
                average pool -> a 7x7 stride-1 average window and its fc -> a
                1x1 conv (what fcn does with a global-pool head by default).
  <m>.pt, <m>_fcn.pt   the same nets traced by torch.jit.trace (PyTorch's
                child freezes and optimizes them for inference).

Before timing, fcn's scores (fcn-run --out) are checked against ORT's on the
same input: at 224 for every model, and at --check-size on the FCN form for
models timed at other sizes. Every peer's output of every timed row is also
checked against ORT's. Tolerance: max |diff| <= 1e-3 * max |ORT output|.

Writes the markdown table to stdout and OUT.md, the raw results to OUT.json
(OUT: benchmarks/results, or <cache>/results-quick with --quick).
Needs: python3-torch python3-torchvision python3-onnx python3-opencv
python3-numpy (Debian 12), node + npm (onnxruntime-node is installed into
the cache directory with `npm install --ignore-scripts`).
"""
import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FCN_BENCH = os.path.join(ROOT, "build", "fcn-bench")
FCN_RUN = os.path.join(ROOT, "build", "fcn-run")
FCN_CONVERT = os.path.join(ROOT, "tools", "fcn-convert")
ORT_JS = os.path.join(HERE, "ort_bench.js")
PYTHON = "/usr/bin/python3"

ORT_PACKAGE = "onnxruntime-node@1.30.0"
GEN_VERSION = "1"          # bump when the generated models change
OPSET = 13
TRAINED = 224
TOL = 1e-3

RUNTIMES = ["fcn", "ort", "torch", "opencv"]
RT_NAME = {"fcn": "fcn", "ort": "ONNX Runtime", "torch": "PyTorch",
           "opencv": "OpenCV DNN"}
RT_SHORT = {"fcn": "fcn", "ort": "ORT", "torch": "PyTorch", "opencv": "OpenCV"}
MODELS = {"vgg16": "VGG-16", "alexnet": "AlexNet", "resnet18": "ResNet-18"}
SEEDS = {"vgg16": 16, "alexnet": 8, "resnet18": 18}

# (model, size, rss_only): rss_only rows are run once, cold, for peak RSS
DEFAULT_ROWS = [("vgg16", 224, False), ("alexnet", 224, False),
                ("resnet18", 224, False), ("resnet18", 1024, False),
                ("vgg16", 1024, False), ("vgg16", 2048, True)]
QUICK_ROWS = [("vgg16", 224, False), ("alexnet", 224, False),
              ("resnet18", 224, False), ("resnet18", 320, False),
              ("vgg16", 288, False), ("vgg16", 352, True)]


# --------------------------------------------------------------------------
# children: model generation, PyTorch, OpenCV (run as `peers.py --child ...`)

def child_gen(key, outdir):
    """Write <key>.onnx, <key>_fcn.onnx, <key>.pt, <key>_fcn.pt, <key>.bin."""
    import warnings
    import torch
    import torch.nn as nn
    import torchvision
    warnings.filterwarnings("ignore")
    torch.set_grad_enabled(False)
    torch.manual_seed(SEEDS[key])
    g = torch.Generator().manual_seed(SEEDS[key] + 1000)

    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)

    if key == "resnet18":
        m = torchvision.models.resnet18()
    else:
        m = getattr(torchvision.models, key)()
        # AdaptiveAvgPool2d((7,7)/(6,6)) is an identity at 224 and cannot be
        # exported with dynamic height/width (its kernel depends on the size)
        m.avgpool = nn.Identity()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            u(mod.weight.data, 0.5, 1.5)
            u(mod.bias.data, -0.2, 0.2)
            u(mod.running_mean, -0.2, 0.2)
            u(mod.running_var, 0.5, 1.5)
        elif isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.bias is not None:
            u(mod.bias.data, -0.1, 0.1)      # non-zero: no Identity nodes in ONNX
    m.eval()

    x = torch.zeros(1, 3, TRAINED, TRAINED)
    if key == "resnet18":
        body = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1,
                             m.layer2, m.layer3, m.layer4)
        cin, k = body(x).shape[1], body(x).shape[2]
        fc = nn.Conv2d(m.fc.in_features, m.fc.out_features, 1)
        fc.weight.data = m.fc.weight.data.view(*fc.weight.shape).clone()
        fc.bias.data = m.fc.bias.data.clone()
        f = nn.Sequential(body, nn.AvgPool2d(k, stride=1), fc)
    else:
        fmap = m.features(x)
        cin, k = fmap.shape[1], fmap.shape[2]
        layers, first = [m.features], True
        for mod in m.classifier:
            if isinstance(mod, nn.Linear):
                if first:
                    c = nn.Conv2d(cin, mod.out_features, k)
                    first = False
                else:
                    c = nn.Conv2d(mod.in_features, mod.out_features, 1)
                c.weight.data = mod.weight.data.view(*c.weight.shape).clone()
                c.bias.data = mod.bias.data.clone()
                layers.append(c)
            elif isinstance(mod, nn.ReLU):
                layers.append(nn.ReLU(inplace=True))
            elif not isinstance(mod, nn.Dropout):
                raise SystemExit("unexpected classifier layer %r" % mod)
        f = nn.Sequential(*layers)
    f.eval()
    xr = torch.rand(1, 3, TRAINED, TRAINED, generator=g) * 2 - 1
    a, b = m(xr).reshape(-1), f(xr).reshape(-1)
    err = float((a - b).abs().max() / a.abs().max())
    if err > 1e-4:
        raise SystemExit("%s: FCN form differs from the classifier by %g" % (key, err))

    def export(net, name, fcn_out):
        axes = {"input": {2: "height", 3: "width"}}
        if fcn_out:
            axes["scores"] = {2: "out_height", 3: "out_width"}
        torch.onnx.export(net, x, os.path.join(outdir, name + ".onnx"),
                          opset_version=OPSET, input_names=["input"],
                          output_names=["scores"], dynamic_axes=axes)
        torch.jit.trace(net, x).save(os.path.join(outdir, name + ".pt"))
    export(m, key, False)
    export(f, key + "_fcn", True)
    r = subprocess.run([FCN_CONVERT, os.path.join(outdir, key + ".onnx"),
                        os.path.join(outdir, key + ".bin"), "--input-size",
                        "3x%dx%d" % (TRAINED, TRAINED), "--name", MODELS[key]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode:
        raise SystemExit("fcn-convert failed: " + r.stdout.strip())


def run_timed(fn, warmup, repeat):
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, times


def self_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_result(name, times, setup_ms, out, versions):
    return {"runtime": name, "median_ms": float(np.median(times)),
            "min_ms": min(times), "max_ms": max(times), "times_ms": times,
            "setup_ms": setup_ms, "out_shape": list(out.shape),
            "self_peak_rss_mb": self_rss_mb(), "versions": versions}


def child_torch(a):
    import torch
    import torchvision
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    net = torch.jit.load(a.model).eval()
    net = torch.jit.freeze(net)
    net = torch.jit.optimize_for_inference(net)
    setup = (time.perf_counter() - t0) * 1e3
    h, w = a.size
    x = torch.from_numpy(np.fromfile(a.input, np.float32).reshape(1, 3, h, w))
    with torch.inference_mode():
        out, times = run_timed(lambda: net(x), a.warmup, a.repeat)
    out = out.numpy()
    out.astype(np.float32).tofile(a.out)
    res = child_result("torch", times, setup, out, {
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "threads": torch.get_num_threads()})
    json.dump(res, open(a.json, "w"))


def child_opencv(a):
    import cv2
    cv2.setNumThreads(a.threads)
    t0 = time.perf_counter()
    net = cv2.dnn.readNetFromONNX(a.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    setup = (time.perf_counter() - t0) * 1e3
    h, w = a.size
    x = np.fromfile(a.input, np.float32).reshape(1, 3, h, w)
    net.setInput(x)
    out, times = run_timed(net.forward, a.warmup, a.repeat)
    out.astype(np.float32).tofile(a.out)
    par = [l.split(":", 1)[1].strip() for l in cv2.getBuildInformation().splitlines()
           if "Parallel framework" in l]
    res = child_result("opencv", times, setup, out, {
        "opencv": cv2.__version__, "parallel": par[0] if par else "?",
        "threads": cv2.getNumThreads()})
    json.dump(res, open(a.json, "w"))


def child_main(argv):
    ap = argparse.ArgumentParser(prog="peers.py --child")
    ap.add_argument("kind", choices=["gen", "torch", "opencv"])
    ap.add_argument("--key")
    ap.add_argument("--outdir")
    ap.add_argument("--model")
    ap.add_argument("--input")
    ap.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")))
    ap.add_argument("--threads", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--out")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.kind == "gen":
        child_gen(a.key, a.outdir)
    elif a.kind == "torch":
        child_torch(a)
    else:
        child_opencv(a)


# --------------------------------------------------------------------------
# the parent

def log(*msg):
    print("[peers]", *msg, file=sys.stderr, flush=True)


def run_child(cmd, threads, logfile, timeout):
    """Run cmd with the thread variables set; return (rc, peak RSS MB of that
    child, wall s, last stderr lines). rc < 0: killed by that signal."""
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(threads)
    t0 = time.time()
    with open(logfile, "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        timed_out = False
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - t0 > timeout and not timed_out:
                os.killpg(p.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - t0
    with open(logfile, errors="replace") as lf:
        tail = [l.rstrip() for l in lf.read().splitlines() if l.strip()][-3:]
    if timed_out:
        tail.append("timed out after %d s" % timeout)
    return p.returncode, ru.ru_maxrss / 1024.0, wall, tail


def parse_size(s):
    s = s.lower()
    if "x" in s:
        w, h = s.split("x")
        return int(w), int(h)
    return int(s), int(s)


def size_str(wh):
    return "%dx%d" % wh


def fcn_input(w, h):
    """fcn-bench's own input pattern, bit for bit, (3, h, w) float32."""
    i = np.arange(3 * h * w, dtype=np.uint64)
    v = ((i * np.uint64(2654435761)) % np.uint64(1000)).astype(np.float32)
    return (v / np.float32(500.0) - np.float32(1.0)).reshape(3, h, w)


class Bench:
    def __init__(self, a):
        self.a = a
        self.cache = os.path.abspath(a.cache)
        self.models = os.path.join(self.cache, "models")
        self.work = os.path.join(self.cache, "work")
        for d in (self.models, self.work, os.path.join(self.cache, "inputs")):
            os.makedirs(d, exist_ok=True)
        self.versions = {}
        self.failures = []

    # ---- setup
    def ensure_ort(self):
        pkg = os.path.join(self.cache, "node_modules", "onnxruntime-node", "package.json")
        want = ORT_PACKAGE.split("@")[1]
        if os.path.exists(pkg) and json.load(open(pkg))["version"] == want:
            return
        if not shutil.which("npm") or not shutil.which("node"):
            sys.exit("peers.py: node and npm are needed (apt-get install nodejs npm)")
        log("installing", ORT_PACKAGE, "into", self.cache)
        # --ignore-scripts: its install script fetches GPU parts from the
        # network; the CPU libonnxruntime.so ships inside the package
        r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit",
                            "--no-fund", "--no-save", "--prefix", self.cache, ORT_PACKAGE],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if r.returncode:
            sys.exit("peers.py: npm install %s failed:\n%s" % (ORT_PACKAGE, r.stdout))

    def ensure_models(self, keys):
        for key in keys:
            stamp = os.path.join(self.models, key + ".stamp")
            files = [key + e for e in (".onnx", "_fcn.onnx", ".pt", "_fcn.pt", ".bin")]
            if (os.path.exists(stamp) and open(stamp).read() == GEN_VERSION and
                    all(os.path.exists(os.path.join(self.models, f)) for f in files)):
                continue
            log("generating", MODELS[key], "(random weights) into", self.models)
            t0 = time.time()
            rc, _, _, tail = run_child(
                [PYTHON, os.path.abspath(__file__), "--child", "gen", "--key", key,
                 "--outdir", self.models], os.cpu_count(),
                os.path.join(self.work, "gen-%s.log" % key), self.a.timeout)
            if rc:
                sys.exit("peers.py: generating %s failed: %s" % (key, " | ".join(tail)))
            open(stamp, "w").write(GEN_VERSION)
            log("  done in %.0f s" % (time.time() - t0))

    def input_file(self, wh):
        w, h = wh
        path = os.path.join(self.cache, "inputs", "in_%dx%d.f32" % (w, h))
        npy = path[:-4] + ".npy"
        if not os.path.exists(path) or not os.path.exists(npy):
            x = fcn_input(w, h)
            x.tofile(path)
            np.save(npy, x)
        return path

    # ---- runtimes
    def model_path(self, rt, key, wh):
        fcn_form = wh != (TRAINED, TRAINED)
        if rt == "fcn":
            return os.path.join(self.models, key + ".bin")
        ext = ".pt" if rt == "torch" else ".onnx"
        return os.path.join(self.models, key + ("_fcn" if fcn_form else "") + ext)

    def run_runtime(self, rt, key, wh, threads, repeat, warmup, mem_limit):
        w, h = wh
        tag = "%s-%s-%s-t%d" % (rt, key, size_str(wh), threads)
        rjson = os.path.join(self.work, tag + ".json")
        rout = os.path.join(self.work, tag + ".f32")
        for f in (rjson, rout):
            if os.path.exists(f):
                os.remove(f)
        inp = self.input_file(wh)
        model = self.model_path(rt, key, wh)
        if rt == "fcn":
            cmd = [FCN_BENCH, model, "--size", size_str(wh), "--threads", str(threads),
                   "--repeat", str(repeat), "--warmup", str(warmup), "--json", rjson,
                   "--no-layers", "--mem-limit", mem_limit]
        elif rt == "ort":
            cmd = ["node", ORT_JS, "--ort", self.cache, "--model", model, "--input", inp,
                   "--shape", "1,3,%d,%d" % (h, w), "--threads", str(threads),
                   "--repeat", str(repeat), "--warmup", str(warmup), "--out", rout,
                   "--json", rjson]
        else:
            cmd = [PYTHON, os.path.abspath(__file__), "--child", rt, "--model", model,
                   "--input", inp, "--size", "%dx%d" % (h, w), "--threads", str(threads),
                   "--repeat", str(repeat), "--warmup", str(warmup), "--out", rout,
                   "--json", rjson]
        rc, rss, wall, tail = run_child(cmd, threads, os.path.join(self.work, tag + ".log"),
                                        self.a.timeout)
        res = {"runtime": rt, "model_file": os.path.basename(model), "peak_rss_mb": rss,
               "wall_s": round(wall, 2)}
        if rc != 0 or not os.path.exists(rjson):
            why = ("killed by signal %d" % -rc) if rc < 0 else "exit %d" % rc
            res["status"] = "failed"
            res["error"] = "%s: %s" % (why, " | ".join(tail))
            log("  %-7s FAILED (%s)" % (rt, res["error"]))
            self.failures.append("%s %s %s t%d: %s" % (rt, key, size_str(wh), threads,
                                                      res["error"]))
            return res
        j = json.load(open(rjson))
        if rt == "fcn":
            j = j[0]
            res.update({k: j[k] for k in ("median_ms", "min_ms", "max_ms", "gflops",
                                          "arena_mb", "tiles")})
            res["self_peak_rss_mb"] = j["peak_rss_mb"]
            res["mem_limit"] = mem_limit
            self.versions["fcn_blas"] = j["blas"]
            self.versions["cpu_fcn"] = j["cpu"]
        else:
            res.update({k: j[k] for k in ("median_ms", "min_ms", "max_ms", "times_ms",
                                          "setup_ms", "out_shape", "self_peak_rss_mb")})
            res["out_file"] = rout
            self.versions.update(j["versions"])
            self.versions.pop("threads", None)
        res["status"] = "ok"
        log("  %-7s %9.2f ms (min %.2f, max %.2f)  peak RSS %6.0f MB" % (
            rt, res["median_ms"], res["min_ms"], res["max_ms"], rss))
        return res

    # ---- validation
    def fcn_scores(self, key, wh, threads):
        npy = self.input_file(wh)[:-4] + ".npy"
        out = os.path.join(self.work, "fcn-run-%s-%s.npy" % (key, size_str(wh)))
        r = subprocess.run([FCN_RUN, self.model_path("fcn", key, wh), npy, "--out", out,
                            "--threads", str(threads)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if r.returncode:
            raise RuntimeError("fcn-run failed: " + r.stdout.strip().splitlines()[-1])
        return np.load(out)

    @staticmethod
    def compare(x, ref):
        x = np.asarray(x, np.float64).reshape(-1)
        ref = np.asarray(ref, np.float64).reshape(-1)
        if x.size != ref.size:
            return {"ok": False, "error": "%d values vs %d" % (x.size, ref.size)}
        scale = float(np.abs(ref).max())
        diff = float(np.abs(x - ref).max())
        rel = diff / scale if scale > 0 else diff
        return {"ok": bool(rel <= TOL and np.isfinite(rel)), "max_abs_diff": diff,
                "scale": scale, "rel": rel}

    def validate(self, key, wh, threads):
        """fcn-run's scores vs ORT's (one timed run) on the same input."""
        what = "%s %s" % (MODELS[key] if wh == (TRAINED, TRAINED) else "FCN " + MODELS[key],
                          size_str(wh))
        ort = self.run_runtime("ort", key, wh, threads, 1, 0, "")
        v = {"model": key, "size": size_str(wh),
             "peer_model": self.model_path("ort", key, wh).rsplit("/", 1)[1]}
        try:
            if ort["status"] != "ok":
                raise RuntimeError("ORT failed: " + ort["error"])
            ref = np.fromfile(ort["out_file"], np.float32).reshape(ort["out_shape"])
            got = self.fcn_scores(key, wh, threads)
            v["fcn_shape"], v["ort_shape"] = list(got.shape), list(ref.shape)
            v.update(self.compare(got, ref))
        except RuntimeError as e:
            v.update({"ok": False, "error": str(e)})
        log("  check fcn vs ORT, %s: %s" % (what, "ok, max diff %.3g of scale %.3g" % (
            v["max_abs_diff"], v["scale"]) if v["ok"] else "MISMATCH " + json.dumps(v)))
        if not v["ok"]:
            self.failures.append("validation %s: %s" % (what, v.get("error", v)))
        return v

    # ---- the whole run
    def machine(self):
        cpu = "unknown"
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = 0
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 1024 / 1024
        try:
            rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 universal_newlines=True).stdout.strip()
        except OSError:
            rev = ""
        return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem, 1),
                "kernel": platform.release(), "fcn_revision": rev}

    def run(self, rows, threads):
        a = self.a
        keys = sorted({r[0] for r in rows}, key=list(MODELS).index)
        self.ensure_ort()
        self.ensure_models(keys)
        result = {"machine": self.machine(), "load_avg_start": os.getloadavg(),
                  "config": {"repeat": a.repeat or [a.small_repeat, a.big_repeat],
                             "warmup": a.warmup, "threads": threads,
                             "runtimes": a.runtimes, "fcn_mem_limit": a.fcn_mem_limit,
                             "fcn_rss_mem_limit": a.rss_mem_limit, "quick": a.quick,
                             "tolerance": TOL},
                  "validation": [], "rows": []}
        tmax = max(threads)
        log("validation (fcn-run vs ONNX Runtime)")
        for key in keys:
            result["validation"].append(self.validate(key, (TRAINED, TRAINED), tmax))
            if any(r[0] == key and r[1] != (TRAINED, TRAINED) for r in rows):
                result["validation"].append(self.validate(key, a.check_size, tmax))
        for key, wh, rss_only in rows:
            for t in threads:
                label = MODELS[key] if wh == (TRAINED, TRAINED) else "FCN " + MODELS[key]
                log("%s %s, %d thread%s%s" % (label, size_str(wh), t, "s" if t > 1 else "",
                                              " (peak RSS row: 1 cold run)" if rss_only else ""))
                big = wh[0] * wh[1] > 512 * 512
                rep, wu = (1, 0) if rss_only else (
                    a.repeat or (a.big_repeat if big else a.small_repeat), a.warmup)
                row = {"model": key, "label": label, "width": wh[0], "height": wh[1],
                       "threads": t, "rss_only": rss_only, "repeat": rep, "warmup": wu,
                       "load_avg_1min": os.getloadavg()[0],
                       "runtimes": {}, "speedup": {}, "agree_with_ort": {}}
                for rt in a.runtimes:
                    row["runtimes"][rt] = self.run_runtime(
                        rt, key, wh, t, rep, wu, a.rss_mem_limit if rss_only else a.fcn_mem_limit)
                res = row["runtimes"]
                f = res.get("fcn", {})
                for rt in a.runtimes:
                    if rt != "fcn" and f.get("status") == "ok" and res[rt]["status"] == "ok":
                        row["speedup"][rt] = res[rt]["median_ms"] / f["median_ms"]
                o = res.get("ort", {})
                if o.get("status") == "ok":
                    ref = np.fromfile(o["out_file"], np.float32)
                    for rt in ("torch", "opencv"):
                        if rt in res and res[rt]["status"] == "ok":
                            c = self.compare(np.fromfile(res[rt]["out_file"], np.float32), ref)
                            row["agree_with_ort"][rt] = c
                            if not c["ok"]:
                                log("  %s output differs from ORT's: %s" % (rt, c))
                                self.failures.append("%s %s %s t%d: output differs from "
                                                     "ORT's (%s)" % (rt, key, size_str(wh), t, c))
                for rr in res.values():
                    rr.pop("out_file", None)
                result["rows"].append(row)
        result["load_avg_end"] = os.getloadavg()
        result["versions"] = self.versions
        result["failures"] = self.failures
        return result


# --------------------------------------------------------------------------
# the table

def fmt_ms(v):
    return "%.0f" % v if v >= 1000 else "%.1f" % v if v >= 10 else "%.2f" % v


def markdown(res):
    m, v, c = res["machine"], res["versions"], res["config"]
    rts = c["runtimes"]
    peers = [r for r in rts if r != "fcn"]
    L = ["# fcn against its peers", ""]
    L.append("Machine: %s, %d cores, %.0f GiB, Linux %s; load average %.2f at the start, "
             "%.2f at the end (1 min). fcn %s, OpenBLAS: %s." % (
                 m["cpu"], m["cores"], m["mem_gib"], m["kernel"], res["load_avg_start"][0],
                 res["load_avg_end"][0], m["fcn_revision"] or "?", v.get("fcn_blas", "?")))
    vs = []
    if "onnxruntime-node" in v:
        vs.append("ONNX Runtime %s (onnxruntime-node, Node %s)" % (v["onnxruntime-node"],
                                                                   v.get("node", "?")))
    if "torch" in v:
        vs.append("PyTorch %s (torchvision %s; TorchScript trace + freeze + "
                  "optimize_for_inference, inference_mode)" % (v["torch"], v["torchvision"]))
    if "opencv" in v:
        vs.append("OpenCV %s DNN (readNetFromONNX, %s threads)" % (v["opencv"], v["parallel"]))
    if vs:
        L.append("Peers: " + "; ".join(vs) + ".")
    L.append("")
    r = c["repeat"]
    runs = ("%d runs" % r if isinstance(r, int) else "%d runs" % r[0] if r[0] == r[1]
            else "%d runs (%d above 512×512)" % tuple(r))
    L.append("fp32, batch 1, the same input for every runtime. Median of %s after %d "
             "warm-ups, each runtime in its own process, one after the other. "
             "**peer/fcn = peer ms / fcn ms** (> 1: fcn is faster). Peak RSS: the whole "
             "process (start, model load, runs), in MB. load: the 1-minute load average "
             "when the row started (%d cores; above 0 other jobs shared the CPU)." % (
                 runs, c["warmup"], m["cores"]))
    L.append("")
    head = ["model", "input", "thr", "load", "fcn ms"]
    for p in peers:
        head += ["%s ms" % RT_SHORT[p], "%s/fcn" % RT_SHORT[p]]
    head += ["RSS %s" % RT_SHORT[r] for r in rts]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    notes = False
    for row in res["rows"]:
        rr = row["runtimes"]
        dag = " †" if row["rss_only"] else ""
        notes |= row["rss_only"]

        def ms(rt):
            x = rr.get(rt, {})
            return fmt_ms(x["median_ms"]) + dag if x.get("status") == "ok" else "failed"
        cells = [row["label"], "%d×%d" % (row["width"], row["height"]), str(row["threads"]),
                 "%.1f" % row["load_avg_1min"], ms("fcn") if "fcn" in rr else "—"]
        for p in peers:
            sp = row["speedup"].get(p)
            agree = row["agree_with_ort"].get(p, {"ok": True})
            cells += [ms(p), ("%.2f" % sp if sp else "—") + ("" if agree["ok"] else " ‡")]
        for rt in rts:
            x = rr.get(rt, {})
            cells.append("%.0f" % x["peak_rss_mb"] if "peak_rss_mb" in x and
                         x.get("status") == "ok" else "—")
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    if notes:
        tiles = sorted({str(row["runtimes"]["fcn"].get("tiles")) for row in res["rows"]
                        if row["rss_only"] and "fcn" in row["runtimes"]})
        L.append("† peak-RSS row: one cold run, no warm-up (fcn with --mem-limit %s, %s "
                 "tile(s); the peers unbounded); its times are not medians."
                 % (c["fcn_rss_mem_limit"], "/".join(tiles)))
        L.append("")
    L.append("fcn runs the classifier (fcn-convert --input-size 3x224x224) and converts its "
             "head itself; at sizes other than 224 the peers run the equivalent FCN ONNX "
             "(\"FCN ...\" rows). fcn's timed rows use --mem-limit %s." % c["fcn_mem_limit"])
    L.append("")
    worst = {}
    for row in res["rows"]:
        for p, cmp in row["agree_with_ort"].items():
            worst[p] = max(worst.get(p, 0), cmp.get("rel", float("inf")))
    if worst:
        L.append("Every peer's output on every row is compared with ORT's; largest "
                 "max |diff| / max |ORT|: %s." % ", ".join(
                     "%s %.2g" % (RT_SHORT[p], w) for p, w in worst.items()))
        L.append("")
    if any(not a.get("ok", True) for row in res["rows"] for a in row["agree_with_ort"].values()):
        L.append("‡ this peer's output differs from ORT's by more than %g of its scale."
                 % c["tolerance"])
        L.append("")
    L.append("Checks, fcn-run's scores against ONNX Runtime's on the same input "
             "(max |diff| / max |ORT|, limit %g):" % c["tolerance"])
    L.append("")
    for val in res["validation"]:
        name = ("" if val["size"] == "%dx%d" % (TRAINED, TRAINED) else "FCN ") + \
            MODELS[val["model"]]
        if "rel" in val:
            L.append("- %s %s (ORT: %s): %s, max |diff| %.3g, scale %.3g (%.2g)" % (
                name, val["size"], val["peer_model"],
                "ok" if val["ok"] else "**MISMATCH**", val["max_abs_diff"],
                val["scale"], val["rel"]))
        else:
            L.append("- %s %s: **failed**: %s" % (name, val["size"], val.get("error")))
    if res["failures"]:
        L.append("")
        L.append("Failures:")
        L.append("")
        for f in res["failures"]:
            L.append("- " + f.replace("|", "\\|"))
    return "\n".join(L) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: small sizes, 3 runs after 2 warm-ups")
    ap.add_argument("--models", help="comma list of %s (default: all)" % ",".join(MODELS))
    ap.add_argument("--sizes", help="comma list of N or WxH: every selected model at "
                    "every size (replaces the default rows; the peak-RSS row stays)")
    ap.add_argument("--threads", default="1,2", help="comma list (default 1,2)")
    ap.add_argument("--repeat", type=int, help="timed runs for every row (default: 10, "
                    "5 above 512x512; quick: 3)")
    ap.add_argument("--warmup", type=int, help="warm-up runs (default 2: PyTorch's "
                    "profiling JIT optimizes on the second run)")
    ap.add_argument("--rss-size", type=int,
                    help="peak-RSS row: FCN VGG-16 at NxN, one cold run (default 2048; "
                    "quick 352; 0: none)")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES),
                    help="comma list of %s" % ",".join(RUNTIMES))
    ap.add_argument("--fcn-mem-limit", default="2G", help="fcn-bench --mem-limit for timed "
                    "rows (default 2G)")
    ap.add_argument("--rss-mem-limit", default="512M", help="fcn-bench --mem-limit for the "
                    "peak-RSS row (default 512M)")
    ap.add_argument("--check-size", default="256", help="size of the fcn-vs-ORT check of "
                    "the FCN form (default 256)")
    ap.add_argument("--cache", default=os.environ.get("FCN_PEERS_CACHE", "/tmp/fcn-peers"),
                    help="models, onnxruntime-node, logs (default /tmp/fcn-peers)")
    ap.add_argument("--out", help="output prefix (default benchmarks/results; quick: "
                    "CACHE/results-quick)")
    ap.add_argument("--timeout", type=int, default=3600, help="per child, seconds")
    a = ap.parse_args()

    a.small_repeat, a.big_repeat = (3, 3) if a.quick else (10, 5)
    if a.warmup is None:
        a.warmup = 2
    if (a.repeat is not None and a.repeat < 1) or a.warmup < 0:
        ap.error("--repeat must be >= 1 and --warmup >= 0")
    threads = [int(t) for t in a.threads.split(",")]
    asked = a.runtimes.split(",")
    if not asked or any(r not in RUNTIMES for r in asked):
        ap.error("--runtimes: choose from " + ",".join(RUNTIMES))
    a.runtimes = [r for r in RUNTIMES if r in asked]
    if "ort" not in a.runtimes:
        a.runtimes.insert(1 if "fcn" in a.runtimes else 0, "ort")   # the reference
    a.check_size = parse_size(a.check_size)
    base = QUICK_ROWS if a.quick else DEFAULT_ROWS
    keys = list(MODELS)
    if a.models:
        keys = a.models.split(",")
        for k in keys:
            if k not in MODELS:
                ap.error("--models: unknown %r (known: %s)" % (k, ",".join(MODELS)))
    rss = [r for r in base if r[2]]
    if a.rss_size is not None:
        rss = [("vgg16", a.rss_size, True)] if a.rss_size > 0 else []
    if a.sizes:
        timed = [(k, s, False) for k in keys for s in a.sizes.split(",")]
    else:
        timed = [r for r in base if not r[2]]
    rows = [(k, parse_size(str(s)), r) for k, s, r in timed + rss if k in keys]
    if not rows:
        ap.error("no rows selected")
    if a.out is None:
        a.out = (os.path.join(a.cache, "results-quick") if a.quick
                 else os.path.join(HERE, "results"))
    for exe in (FCN_BENCH, FCN_RUN):
        if "fcn" in a.runtimes and not os.access(exe, os.X_OK):
            sys.exit("peers.py: %s missing: build fcn first (ninja -C build)" % exe)
    missing = [m for m in ("torch", "torchvision", "onnx", "cv2")
               if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit("peers.py: missing Python modules %s; install: apt-get install -y "
                 "python3-torch python3-torchvision python3-onnx python3-opencv"
                 % ", ".join(missing))

    log("load average %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    res = Bench(a).run(rows, threads)
    md = markdown(res)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump(res, f, indent=1)
    with open(a.out + ".md", "w") as f:
        f.write(md)
    sys.stdout.write(md)
    log("wrote %s.md and %s.json" % (a.out, a.out))
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
