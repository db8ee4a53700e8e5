# convert_errors_lib.sh: sourced by tests/test_convert_*_errors.sh, after
# they set conv (tools/fcn-convert), tmp (their scratch folder, made) and
# optionally dst (the DST each queued run names; $tmp/out.bin by default).
#
# ok, bad: count a check (bad prints "FAIL: ..." on stderr); the script ends
# with: echo "$pass passed, $fail failed".
#
# expect_fail NAME NEEDLE... -- SRC [OPTIONS] (with one_needle=1:
# expect_fail NAME NEEDLE SRC [OPTIONS]): queues fcn-convert SRC [OPTIONS]
# DST (argparse takes DST after the options). run_queued runs the
# queue in one process (tools/fcnconv/clirun.py: a fork per run, not a
# Python start) and wants of each run a refusal: exit 1..127, exactly one
# stderr line holding every NEEDLE (grep $needle_grep: -F for fixed strings,
# empty for basic regular expressions) and no Python exception class or
# traceback, and no DST or temporary file. With split_checks=1 the message,
# the DST and the temporary file are three checks a run, else one.
py=${PYTHON:-/usr/bin/python3}
. "$(dirname "$0")/check.sh"

q=$tmp/queue nq=0 dst=${dst:-$tmp/out.bin}
needle_grep=${needle_grep-} one_needle=${one_needle:-0} split_checks=${split_checks:-0}
mkdir -p "$q"
expect_fail() {
  nq=$((nq + 1))
  printf '%s\n' "$1" >"$q/$nq.name"
  shift
  : >"$q/$nq.needles"
  if [ "$one_needle" = 1 ]; then
    printf '%s\n' "$1" >"$q/$nq.needles"
  else
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
      printf '%s\n' "$1" >>"$q/$nq.needles"
      shift
    done
  fi
  shift
  : >"$q/$nq.args"
  for arg in "$@" "$dst"; do printf '%s\n' "$arg" >>"$q/$nq.args"; done
}

# queued_message I: true when run I's exit status and stderr are a refusal
# as above (the DST and temporary file apart).
queued_message() {
  e=$q/$1.err
  [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$(wc -l <"$e")" -eq 1 ] || return 1
  while IFS= read -r n; do
    [ -n "$n" ] && ! grep -q $needle_grep -- "$n" "$e" && return 1
  done <"$q/$1.needles"
  ! grep -Eq '[a-z](Error|Exception)|Traceback' "$e"
}

run_queued() {
  "$py" "$(dirname "$conv")/fcnconv/clirun.py" "$conv" "$q" || { bad "clirun.py failed"; return; }
  i=1
  while [ $i -le $nq ]; do
    name=$(cat "$q/$i.name")
    read -r rc dleft tleft <"$q/$i.rc"
    if [ "$split_checks" = 1 ]; then
      if queued_message $i; then ok; else bad "$name: rc=$rc, stderr: $(cat "$q/$i.err")"; fi
      if [ "$dleft" = 1 ]; then bad "$name: DST left behind"; else ok; fi
      if [ "$tleft" = 1 ]; then bad "$name: temporary file left behind"; else ok; fi
    elif queued_message $i && [ "$dleft" = 0 ] && [ "$tleft" = 0 ]; then ok
    else bad "$name: rc=$rc, dst $( [ "$dleft" = 1 ] && echo left || echo absent), stderr: $(cat "$q/$i.err")"; fi
    i=$((i + 1))
  done
}
