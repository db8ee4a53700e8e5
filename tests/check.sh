# check.sh: sourced by the shell tests (. "$(dirname "$0")/check.sh"): the
# counts of checks and how one is made; each test ends with
# echo "$pass passed, $fail failed".
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check CMD...: CMD's exit status is the check, named by $name
check() { if "$@"; then ok; else bad "$name"; fi; }
# refused NAME NEEDLE OUT CMD...: CMD is refused as the front ends refuse
# bad input: exit status 1, one stderr line holding NEEDLE, OUT not
# written and no temporary (*.tmp) left in $tmp (uses $tmp/o, $tmp/e)
refused() {
  name=$1 needle=$2 out=$3; shift 3
  "$@" >"$tmp/o" 2>"$tmp/e"; rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] &&
     grep -q -- "$needle" "$tmp/e" && [ ! -e "$out" ] &&
     ! ls -A "$tmp" | grep -q '\.tmp$'; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/e")"; fi
}
