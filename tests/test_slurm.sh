#!/bin/sh
# test_slurm.sh FCN_RUN FCN_MERGE BUILD_DIR SOURCE_ROOT
# tools/slurm (docs/scale-out.md, "Slurm") without Slurm: fcn-shard.sbatch
# run as the tasks of `sbatch --array=0-3` run it (SLURM_ARRAY_TASK_ID 0..3,
# SLURM_ARRAY_TASK_COUNT 4 and the MIN/MAX/STEP Slurm sets), then
# fcn-merge.sbatch: the merged map equal (cmp) to a single `fcn-run MODEL IMG
# --out` on a 600 x 800 gray PNG (tests/shard_image.py); the same from the
# environment (FCN_MODEL, ...), which resumes (skips) a finished part;
# refusals outside an array or of one that is not 0-(N-1). fcn-submit with
# a fake sbatch on PATH that records its arguments: the array 0-3 with
# --parsable, the merge with --dependency=afterok on the array's job id
# (a --parsable "ID;CLUSTER" answer cut to ID); the recorded array command
# run for every index gives the same map; no merge without OUT or after a
# failed submission; a bad N refused before any sbatch.
# Ends with "N passed, N failed".
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
run=$(abs "$1") merge=$(abs "$2") build=$3 src=$4
slurm=$src/tools/slurm model=$src/models/fashion.bin
. "$(dirname "$0")/check.sh"
tmp=$(abs "$build")/slurm.$$
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp" || exit 1
/usr/bin/python3 "$src/tests/shard_image.py" "$src" img.png 600 800 &&
  "$run" "$model" img.png --out single.npy -q >/dev/null ||
  { echo "cannot make the image or its single run"; echo "0 passed, 1 failed"
    exit 1; }
export FCN_RUN="$run" FCN_MERGE="$merge"
# task I N CMD...: CMD as task I of an array 0-(N-1)
task() {
  i=$1 n=$2; shift 2
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$n SLURM_ARRAY_TASK_MIN=0 \
    SLURM_ARRAY_TASK_MAX=$((n - 1)) SLURM_ARRAY_TASK_STEP=1 \
    SLURM_CPUS_PER_TASK=1 SLURM_ARRAY_JOB_ID=77 "$@"
}

# ---- the array's tasks from arguments, then the merge ----
for i in 0 1 2 3; do
  task $i 4 sh "$slurm/fcn-shard.sbatch" "$model" img.png parts \
    >t$i.out 2>t$i.err
  rc=$?
  name="task $i of 4: exit 0 ($(tail -1 t$i.err))"; check test $rc = 0
  name="task $i of 4 ran part $i/4"
  check grep -q "part $i/4: 1 of 1 unit run" t$i.err
done
sh "$slurm/fcn-merge.sbatch" parts merged.npy >m.out 2>m.err
rc=$?
name="the merge: exit 0 ($(cat m.err))"; check test $rc = 0
name="the merged map equals the single run"; check cmp -s merged.npy single.npy

# ---- from the environment: a finished part is skipped ----
FCN_MODEL=$model FCN_INPUT=img.png FCN_OUT_DIR=parts FCN_RUN_OPTIONS="-q" \
  task 2 4 sh "$slurm/fcn-shard.sbatch" >e.out 2>e.err
rc=$?
name="from the environment: exit 0 ($(cat e.err))"; check test $rc = 0
FCN_MODEL=$model FCN_INPUT=img.png FCN_OUT_DIR=parts \
  task 2 4 sh "$slurm/fcn-shard.sbatch" >e.out 2>e.err
name="a finished part is skipped ($(cat e.err))"
check grep -q "part 2/4: 0 of 1 unit run, 1 done before" e.err

# ---- refusals ----
refused() {  # NAME NEEDLE CMD...
  what=$1 needle=$2; shift 2
  "$@" >r.out 2>r.err; rc=$?
  name="$what: rc=$rc, $(cat r.err)"
  check test $rc != 0 -a "$(wc -l <r.err)" = 1
  name="$what: says '$needle'"; check grep -q -- "$needle" r.err
}
refused "outside an array" "SLURM_ARRAY_TASK_ID" \
  sh "$slurm/fcn-shard.sbatch" "$model" img.png parts
refused "an array 1-4" "must be 0-3" \
  env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=1 \
  SLURM_ARRAY_TASK_MAX=4 sh "$slurm/fcn-shard.sbatch" "$model" img.png parts
refused "no MODEL INPUT DIR" "needs MODEL INPUT DIR" \
  task 0 4 sh "$slurm/fcn-shard.sbatch"
refused "the merge without OUT" "usage" sh "$slurm/fcn-merge.sbatch" parts

# ---- fcn-submit with a fake sbatch ----
mkdir bin
cat >bin/sbatch <<'EOF'
#!/bin/sh
# records its arguments, one call a line (tab-separated), answers job ids
[ -n "${SBATCH_FAIL:-}" ] && {
  echo "sbatch: error: fake failure" >&2; exit 1; }
k=$(($(cat "$SBATCH_LOG" 2>/dev/null | wc -l) + 1))
printf '%s\t' "$@" >>"$SBATCH_LOG"; echo >>"$SBATCH_LOG"
[ $k = 1 ] && echo "4242;clusterA" || echo "4243"
EOF
chmod +x bin/sbatch
export SBATCH_LOG=$tmp/sbatch.log
PATH=$tmp/bin:$PATH sh "$slurm/fcn-submit" "$model" img.png sub 4 sub.npy \
  >s.out 2>s.err
rc=$?
name="fcn-submit: exit 0 ($(cat s.out s.err))"; check test $rc = 0
name="fcn-submit: two sbatch calls"; check test "$(wc -l <sbatch.log)" = 2
first=$(sed -n 1p sbatch.log) second=$(sed -n 2p sbatch.log)
name="the parts: --parsable --array=0-3 fcn-shard.sbatch MODEL INPUT DIR"
check test "$first" = "$(printf '%s\t' --parsable --array=0-3 \
  "$slurm/fcn-shard.sbatch" "$model" img.png sub)"
name="the merge: --dependency=afterok:4242 fcn-merge.sbatch DIR OUT"
check test "$second" = "$(printf '%s\t' --parsable \
  --dependency=afterok:4242 "$slurm/fcn-merge.sbatch" sub sub.npy)"
name="fcn-submit prints the job ids"
check grep -q "job 4242 (array 0-3)" s.out
# what was submitted, run as Slurm would run it: every index, then the merge
for i in 0 1 2 3; do
  (IFS=$(printf '\t'); set -f
   # shellcheck disable=SC2086  # the recorded words, tab-separated
   set -- $first; shift 2; task $i 4 sh "$@" -q >/dev/null)
done
(IFS=$(printf '\t'); set -f; set -- $second; shift 2; sh "$@")
name="the submitted jobs, run, give the single run's map"
check cmp -s sub.npy single.npy

rm -f sbatch.log
PATH=$tmp/bin:$PATH sh "$slurm/fcn-submit" "$model" img.png sub2 3 \
  -- --cells 0,0,30,30 >s.out 2>s.err
rc=$?
name="fcn-submit without OUT: exit 0, one sbatch call, options passed"
check test $rc = 0 -a "$(wc -l <sbatch.log)" = 1 -a \
  "$(cat sbatch.log)" = "$(printf '%s\t' --parsable --array=0-2 \
  "$slurm/fcn-shard.sbatch" "$model" img.png sub2 --cells 0,0,30,30)"
rm -f sbatch.log
SBATCH_FAIL=1 PATH=$tmp/bin:$PATH sh "$slurm/fcn-submit" "$model" img.png \
  sub3 4 sub3.npy >s.out 2>s.err
rc=$?
name="a failed sbatch: fcn-submit fails, no merge queued ($(cat s.err))"
check test $rc != 0 -a ! -s sbatch.log
for bad in 0 x 04 -1; do
  refused "fcn-submit N=$bad" "N must be" \
    env PATH="$tmp/bin:$PATH" sh "$slurm/fcn-submit" "$model" img.png s4 \
    "$bad" s4.npy
done
name="no sbatch call for a bad N"; check test ! -s sbatch.log
cd / && rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
