#!/bin/sh
# test_outputs.sh FCN_RUN FCN_DETECT FCN_BENCH TMPDIR MODEL IMAGE [quick]
# Output files are written whole or not at all, and never replace what is
# not a regular file: fcn-run --out, fcn-detect --json/--draw/--heatmap and
# fcn-bench --json refuse a FIFO, a device, a directory or a symlink at the
# path (left as they were), follow no symlink planted at a temporary's name,
# replace a regular file atomically (its permissions kept; a new file gets
# 0666 & ~umask), leave no temporary behind after a write error (read-only
# directory, full disk), a signal (SIGINT, SIGTERM, SIGHUP, SIGPIPE, also in
# the middle of the write) or a failed run. Standard output is checked: a
# full device is an error with a message. Needs python3 (standard library).
# Cases that need root (a device node, a read-only or full tmpfs) print
# SKIPPED without it. "quick" (a sanitizer or -O0 build, where fcn-bench's
# fixed-work FMA ceiling takes minutes): no complete fcn-bench run, SKIPPED
# said; its refusals, signals and --help still run. Ends with "N passed,
# N failed".
run=$1 det=$2 bench=$3 tmp=$4/outputs.$$ model=$5 image=$6 quick=$7
. "$(dirname "$0")/check.sh"
mkdir -p "$tmp"
# the system's python3 first (a version manager's shim costs seconds a call)
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
skip() { echo "SKIPPED: $*"; }
# expect_fail NAME NEEDLE CMD...: exit status 1, exactly one stderr line,
# containing NEEDLE.
expect_fail() {
  name=$1 needle=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q -- "$needle" "$tmp/err"; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}
# no_temps NAME DIR: no temporary (new scheme or old) in DIR
no_temps() {
  if ls -A "$2" | grep -q '\.tmp$\|\.tmp\.'; then bad "$1: temporary left: $(ls -A "$2")"
  else ok; fi
}
# the fast ways to write each kind of output
r() { "$run" "$model" "$image" "$@"; }
full() { "$@" >/dev/full; }
closed() { "$@" >&-; }
d() { "$det" "$model" "$image" --quiet "$@"; }
b() { "$bench" "$model" --repeat 1 --warmup 0 --no-layers "$@"; }
refused="exists and is not a regular file, not replaced"

cat >"$tmp/sig.py" <<'EOF'
# sig.py SIG WHEN DIR TARGET CMD...: start CMD (signals at their defaults);
# WHEN "tmp": as soon as a temporary appears in DIR, stop CMD (SIGSTOP) and,
# the temporary still there, send SIG, then SIGCONT: a kill in the middle of
# the write; WHEN a number: SIG after that many seconds. Checks: no
# temporary left in DIR; TARGET absent or complete (a .npy: its header's
# shape times 4 bytes of data); CMD ended by SIG, or exited 0 with TARGET
# complete when it finished first. One line; exit 1 on a failed check, 3
# when WHEN "tmp" did not catch the temporary.
import os, signal, subprocess, sys, time
sig = getattr(signal, "SIG" + sys.argv[1]); when, d, target = sys.argv[2:5]
cmd = sys.argv[5:]
def temps():
    return [n for n in os.listdir(d) if n.endswith(".tmp") or ".tmp." in n]
def dfl():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, signal.SIG_DFL)
def complete(p):
    b = open(p, "rb").read()
    if not p.endswith(".npy"):
        return len(b) > 0
    if b[:6] != b"\x93NUMPY":
        return False
    hl = b[8] | b[9] << 8
    n = 1
    for s in eval(b[10:10 + hl].decode())["shape"]:
        n *= s
    return len(b) == 10 + hl + 4 * n
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                     preexec_fn=dfl)
hit = False
if when == "tmp":
    t0 = time.monotonic()
    while p.poll() is None and not temps() and time.monotonic() - t0 < 60:
        time.sleep(0.0002)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGSTOP)
        hit = bool(temps())
        os.kill(p.pid, sig)
        os.kill(p.pid, signal.SIGCONT)
else:
    time.sleep(float(when))
    if p.poll() is None:
        hit = bool(temps())
        p.send_signal(sig)
rc = p.wait()
err = p.stderr.read().decode(errors="replace").strip()
left = temps()
st = ("absent" if not os.path.exists(target) else
      "complete" if complete(target) else "partial")
good = not left and st != "partial" and (rc == -sig or (rc == 0 and st == "complete"))
print("%s at %s: rc %d, target %s, temporaries left: %s, %s%s" % (
    sys.argv[1], when, rc, st, left or "none",
    "killed while a temporary existed" if hit else "no temporary when killed",
    ", stderr: " + err if err else ""))
sys.exit(1 if not good else 3 if when == "tmp" and not hit else 0)
EOF
# sig NAME SIG WHEN DIR TARGET CMD... (a write too quick to catch is tried
# again, up to 3 times)
sig() {
  name=$1; shift
  for try in 1 2 3 4 5 6 7 8 9 10; do  # rc 3: the kill missed the write (the machine is busy)
    "$py" "$tmp/sig.py" "$@" >"$tmp/py" 2>&1; rc=$?
    [ $rc -eq 3 ] || break
  done
  echo "  $name: $(cat "$tmp/py")"
  [ $rc -eq 0 ] && ok || bad "$name: $(cat "$tmp/py")"
  rm -f "$g"/.*.tmp "$g"/*.tmp.* # each case on its own
}

# ---- a path that exists and is not a regular file: refused, untouched ----
mkdir -p "$tmp/n"
mkfifo "$tmp/n/fifo.npy" "$tmp/n/fifo.json" "$tmp/n/fifo.png"
mkdir "$tmp/n/dir.npy"
expect_fail "fcn-run --out FIFO" "$refused" r --out "$tmp/n/fifo.npy"
expect_fail "fcn-run --out directory" "$refused" r --out "$tmp/n/dir.npy"
expect_fail "fcn-detect --json FIFO" "$refused" d --json "$tmp/n/fifo.json"
expect_fail "fcn-detect --draw FIFO" "$refused" d --draw "$tmp/n/fifo.png"
expect_fail "fcn-bench --json FIFO" "$refused" b --json "$tmp/n/fifo.json"
for f in fifo.npy fifo.json fifo.png; do
  [ -p "$tmp/n/$f" ] && ok || bad "$f is no longer a FIFO"
done
[ -d "$tmp/n/dir.npy" ] && ok || bad "dir.npy is no longer a directory"
# a character device (the old code replaced one by a regular file): a copy
# of /dev/null's node in our folder, never /dev/null itself
if [ "$(id -u)" = 0 ] && mknod "$tmp/n/null.npy" c 1 3 2>/dev/null; then
  expect_fail "fcn-run --out device" "$refused" r --out "$tmp/n/null.npy"
  expect_fail "fcn-detect --json device" "$refused" d --json "$tmp/n/null.npy"
  [ -c "$tmp/n/null.npy" ] && ok || bad "the device node was replaced"
else
  skip "--out on a character device (mknod needs root)"
fi
no_temps "non-regular targets" "$tmp/n"

# ---- symlinks: at the path (refused, link and target untouched), planted
# at the old scheme's temporary name (not followed) ----
mkdir -p "$tmp/s" "$tmp/outside"
echo precious >"$tmp/outside/victim"
ln -s "$tmp/outside/victim" "$tmp/s/link.npy"
ln -s "$tmp/outside/victim" "$tmp/s/link.json"
ln -s "$tmp/outside/absent" "$tmp/s/dangling.npy"
expect_fail "fcn-run --out symlink" "$refused" r --out "$tmp/s/link.npy"
expect_fail "fcn-run --out dangling symlink" "$refused" r --out "$tmp/s/dangling.npy"
expect_fail "fcn-detect --json symlink" "$refused" d --json "$tmp/s/link.json"
expect_fail "fcn-bench --json symlink" "$refused" b --json "$tmp/s/link.json"
[ "$(cat "$tmp/outside/victim")" = precious ] && ok || bad "symlink target written"
[ ! -e "$tmp/outside/absent" ] && ok || bad "dangling symlink's target created"
[ -L "$tmp/s/link.npy" ] && [ "$(readlink "$tmp/s/link.npy")" = "$tmp/outside/victim" ] &&
  [ -L "$tmp/s/dangling.npy" ] && ok || bad "a symlink was replaced"
# PATH.tmp.PID, the old temporary (exec keeps the shell's PID): a symlink
# there must not be followed
sh -c 'ln -s "$1" "$2.tmp.$$" && shift 2 && exec "$@"' sh "$tmp/outside/planted" \
  "$tmp/s/new.npy" "$run" "$model" "$image" --out "$tmp/s/new.npy" >/dev/null 2>"$tmp/err"
[ ! -e "$tmp/outside/planted" ] && [ -f "$tmp/s/new.npy" ] && [ ! -L "$tmp/s/new.npy" ] &&
  ok || bad "planted temporary symlink followed: $(cat "$tmp/err")"
[ "$(ls -A "$tmp/outside")" = victim ] && ok || bad "files created outside: $(ls -A "$tmp/outside")"
rm -f "$tmp/s/new.npy.tmp."*
no_temps "symlinks" "$tmp/s"

# ---- regular files: a new one gets 0666 & ~umask, an old one is replaced
# by a new file (its permissions kept), readers of the old one see it whole ----
mkdir -p "$tmp/r"
(umask 027 && r --out "$tmp/r/new.npy" >/dev/null &&
 d --json "$tmp/r/new.json" --draw "$tmp/r/new.png") 2>"$tmp/err" &&
  ok || bad "writes to new files: $(cat "$tmp/err")"
outs="new.npy new.json new.png"
if [ -z "$quick" ]; then
  (umask 027 && b --json "$tmp/r/bench.json" >/dev/null) 2>"$tmp/err" &&
    ok || bad "fcn-bench --json: $(cat "$tmp/err")"
  outs="$outs bench.json"
fi
for f in $outs; do
  m=$(stat -c %a "$tmp/r/$f" 2>/dev/null)
  [ "$m" = 640 ] && ok || bad "$f: mode $m, want 640 (umask 027)"
done
"$py" -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' \
  "$tmp/r"/*.json && ok || bad "JSON outputs do not parse"
echo old >"$tmp/r/old.npy"; chmod 600 "$tmp/r/old.npy"; ln "$tmp/r/old.npy" "$tmp/r/hardlink"
ino=$(stat -c %i "$tmp/r/old.npy")
r --out "$tmp/r/old.npy" >/dev/null 2>"$tmp/err" && ok || bad "replace: $(cat "$tmp/err")"
[ "$(head -c 6 "$tmp/r/old.npy" | tail -c 5)" = NUMPY ] && [ "$(stat -c %a "$tmp/r/old.npy")" = 600 ] &&
  [ "$(stat -c %i "$tmp/r/old.npy")" != "$ino" ] && [ "$(cat "$tmp/r/hardlink")" = old ] &&
  ok || bad "old.npy not replaced by a new file with its mode"
no_temps "regular files" "$tmp/r"

# ---- write errors: a missing or unwritable folder, a full disk: a message
# naming the file and the reason, exit 1, nothing left ----
expect_fail "--out in a missing folder" "$tmp/none/x.npy: directory .*none. does not exist" r --out "$tmp/none/x.npy"
expect_fail "--json under a file" "new.json' is not a directory" d --json "$tmp/r/new.json/x.json"
# in a private mount namespace, a tmpfs read-only or full (root only)
cat >"$tmp/infs.sh" <<'EOF'
# infs.sh ro|full MNT LISTING CMD...: CMD with a tmpfs at MNT, read-only or
# filled up; MNT's listing afterwards in LISTING; CMD's exit status.
how=$1 mnt=$2 list=$3; shift 3
mount -t tmpfs -o size=64k,mode=777${how#full} tmpfs "$mnt" || exit 99
[ "$how" = full ] && dd if=/dev/zero of="$mnt/fill" bs=4096 2>/dev/null
"$@"; rc=$?
ls -A "$mnt" >"$list"
exit $rc
EOF
mkdir -p "$tmp/m"
if [ "$(id -u)" = 0 ] && unshare -m sh "$tmp/infs.sh" ,ro "$tmp/m" "$tmp/list" true 2>/dev/null; then
  m=$tmp/m
  fs() { how=$1; shift; unshare -m sh "$tmp/infs.sh" "$how" "$m" "$tmp/list" "$@"; }
  expect_fail "fcn-run --out, read-only" "$m/x.npy: Read-only file system" \
    fs ,ro "$run" "$model" "$image" --out "$m/x.npy"
  [ ! -s "$tmp/list" ] && ok || bad "read-only: $(cat "$tmp/list")"
  expect_fail "fcn-run --out, full disk" "$m/x.npy: No space left on device" \
    fs full "$run" "$model" "$image" --out "$m/x.npy"
  [ "$(cat "$tmp/list")" = fill ] && ok || bad "full disk, --out: $(cat "$tmp/list")"
  expect_fail "fcn-detect --json, full disk" "$m/x.json: No space left on device" \
    fs full "$det" "$model" "$image" --json "$m/x.json"
  [ "$(cat "$tmp/list")" = fill ] && ok || bad "full disk, --json: $(cat "$tmp/list")"
  expect_fail "fcn-detect --draw, full disk" "$m/x.png: No space left on device" \
    fs full "$det" "$model" "$image" --json "$tmp/r/d.json" --draw "$m/x.png"
  [ "$(cat "$tmp/list")" = fill ] && ok || bad "full disk, --draw: $(cat "$tmp/list")"
  if [ -z "$quick" ]; then
    expect_fail "fcn-bench --json, full disk" "$m/x.json: No space left on device" \
      fs full "$bench" "$model" --repeat 1 --warmup 0 --no-layers --json "$m/x.json"
    [ "$(cat "$tmp/list")" = fill ] && ok || bad "full disk, bench --json: $(cat "$tmp/list")"
  fi
elif [ "$(id -u)" != 0 ]; then
  mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro"
  expect_fail "fcn-run --out, unwritable folder" "$tmp/ro/x.npy: Permission denied" r --out "$tmp/ro/x.npy"
  [ -z "$(ls -A "$tmp/ro")" ] && ok || bad "unwritable folder: $(ls -A "$tmp/ro")"
  chmod 755 "$tmp/ro"
  skip "full disk (a tmpfs needs root)"
else
  skip "read-only folder and full disk (no private mount namespace)"
fi
# a failed run writes nothing
expect_fail "failed run" "smaller than the network needs" r --resize 8x8 --out "$tmp/r/fail.npy"
[ ! -e "$tmp/r/fail.npy" ] && ok || bad "a failed run left its output"
no_temps "write errors" "$tmp/r"

# ---- standard output: a full device is an error with a message ----
expect_fail "fcn-run >/dev/full" "fcn-run: writing standard output: No space left" full r
expect_fail "fcn-run --help >/dev/full" "fcn-run: writing standard output" full "$run" --help
expect_fail "fcn-detect >/dev/full" "fcn-detect: writing standard output: No space left" full d
expect_fail "fcn-bench --help >/dev/full" "fcn-bench: writing standard output: No space left" full "$bench" --help
if [ -z "$quick" ]; then
  expect_fail "fcn-bench >/dev/full" "fcn-bench: writing standard output: No space left" full b
else
  skip "complete fcn-bench runs (quick: a sanitizer or -O0 build)"
fi
expect_fail "fcn-run >&-" "fcn-run: writing standard output" closed r
# nothing written to a closed stdout is no error
d --json "$tmp/r/closed.json" >&- 2>"$tmp/err" && ok || bad "fcn-detect --json, stdout closed: $(cat "$tmp/err")"
# --out is still written whole when stdout fails
r --out "$tmp/r/full.npy" >/dev/full 2>/dev/null; rc=$?
[ $rc -eq 1 ] && [ "$(head -c 6 "$tmp/r/full.npy" | tail -c 5)" = NUMPY ] && ok ||
  bad "--out with stdout on /dev/full: rc=$rc"

# ---- signals: no temporary left, the output absent or whole, the exit by
# the signal; killed in the middle of the write (stopped as soon as its
# temporary appears), and at fixed delays ----
g=$tmp/g
mkdir -p "$g"
rm -f "$g"/*
sig "fcn-run --out, SIGINT in the write" INT tmp "$g" "$g/s.npy" "$run" "$model" "$image" --out "$g/s.npy"
sig "fcn-run --out, SIGTERM in the write" TERM tmp "$g" "$g/s.npy" "$run" "$model" "$image" --out "$g/s.npy"
sig "fcn-run --out, SIGHUP in the write" HUP tmp "$g" "$g/s.npy" "$run" "$model" "$image" --out "$g/s.npy"
sig "fcn-detect --draw, SIGINT in the write" INT tmp "$g" "$g/s.png" "$det" "$model" "$image" --quiet --draw "$g/s.png"
# the JSON's temporary lives through the whole run
sig "fcn-detect --json, SIGINT" INT tmp "$g" "$g/s.json" "$det" "$model" "$image" "$image" --quiet --json "$g/s.json"
sig "fcn-detect --json, SIGTERM" TERM tmp "$g" "$g/s.json" "$det" "$model" "$image" "$image" --quiet --json "$g/s.json"
sig "fcn-detect --json, SIGPIPE" PIPE tmp "$g" "$g/s.json" "$det" "$model" "$image" "$image" --quiet --json "$g/s.json"
sig "fcn-bench --json, SIGTERM" TERM tmp "$g" "$g/s.json" "$bench" "$model" --repeat 2 --warmup 0 --json "$g/s.json"
for t in 0.05 0.2 0.5; do
  rm -f "$g/s.npy"
  sig "fcn-run --out, SIGINT at ${t}s" INT "$t" "$g" "$g/s.npy" "$run" "$model" "$image" --resize 448x320 --out "$g/s.npy"
done
# a signal ignored at start (nohup) stays ignored: the run completes
rm -f "$g/s.json"
"$py" -c '
import signal, subprocess, sys, time
signal.signal(signal.SIGHUP, signal.SIG_IGN)
p = subprocess.Popen(sys.argv[1:])
time.sleep(0.05); p.send_signal(signal.SIGHUP)
sys.exit(p.wait())' "$det" "$model" "$image" --quiet --json "$g/s.json" 2>"$tmp/err" &&
  [ -s "$g/s.json" ] && ok || bad "SIGHUP ignored at start: $(cat "$tmp/err")"
# stdout a pipe nobody reads: SIGPIPE ends it quietly, --out absent or whole
rm -f "$g/s.npy"
"$py" -c '
import os, signal, subprocess, sys
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdout.close(); err = p.stderr.read(); rc = p.wait()
ok = rc in (0, -signal.SIGPIPE) and not err
sys.exit(0 if ok else print(rc, err) or 1)' "$g" "$run" "$model" "$image" --top 40 --out "$g/s.npy" &&
  ok || bad "stdout a closed pipe"
no_temps "signals" "$g"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
