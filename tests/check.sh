# check.sh: sourced by the shell tests (. "$(dirname "$0")/check.sh"): the
# counts of checks and how one is made; each test ends with
# echo "$pass passed, $fail failed".
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check CMD...: CMD's exit status is the check, named by $name
check() { if "$@"; then ok; else bad "$name"; fi; }
