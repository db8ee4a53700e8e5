"""Run fcn-convert's command line many times from one process, for tests.

    python3 clirun.py FCN_CONVERT QUEUE_DIR

QUEUE_DIR holds one case per N.args file (N = 1, 2, ...): the arguments of
one fcn-convert run, one a line, the last one the DST file. Each case runs
in a child forked from this process, which has imported what the converters
import once (numpy, onnx, h5py where present), so that a run costs a fork
instead of a Python start and a numpy import. The child runs FCN_CONVERT as
a script (__main__), its stdout and stderr going to N.out and N.err; then
N.rc gets "EXIT DST_LEFT TMP_LEFT": the exit status (128 + the signal for a
run killed by one), and 1/0 for whether DST, and any DST.tmp* file, exist
afterwards. DST is removed before each run.
"""
import gc
import glob
import os
import runpy
import sys

# a forked child must not inherit a BLAS thread pool it cannot use
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def preload(tools):
    sys.path.insert(0, tools)
    import numpy  # noqa: F401
    for mod in ("onnx", "onnx.numpy_helper", "h5py", "fcnconv.onnx_src",
                "fcnconv.keras_src", "fcnconv.darknet_src", "fcnconv.validate"):
        try:
            __import__(mod)
        except ImportError:
            pass


def run_one(conv, args, out, err):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for fd, path in ((1, out), (2, err)):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = [conv] + args
            try:
                runpy.run_path(conv, run_name="__main__")
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:      # what the interpreter would print and exit with
            import traceback
            traceback.print_exception(type(e), e, e.__traceback__)
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code & 0xFF)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def main():
    conv, queue = sys.argv[1], sys.argv[2]
    preload(os.path.dirname(os.path.abspath(conv)))
    gc.freeze()     # the children share the preloaded objects' pages longer
    n = 1
    while os.path.exists(os.path.join(queue, "%d.args" % n)):
        base = os.path.join(queue, str(n))
        with open(base + ".args") as f:
            args = f.read().split("\n")[:-1]
        dst = args[-1]
        if os.path.lexists(dst):
            os.unlink(dst)
        rc = run_one(conv, args, base + ".out", base + ".err")
        tmp_left = bool(glob.glob(glob.escape(dst) + ".tmp*"))
        with open(base + ".rc", "w") as f:
            f.write("%d %d %d\n" % (rc, os.path.lexists(dst), tmp_left))
        n += 1


if __name__ == "__main__":
    main()
