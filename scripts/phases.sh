# Sourced by scripts/test.sh: `phase NAME` prints "==> NAME" as a phase starts and "<== NAME: N s" when the next
# starts or the script exits; the exit prints "==> passed after N s" or "==> FAILED (exit C) after N s".
suite_start=$SECONDS
phase_name=""
phase_start=$SECONDS
end_phase() {
  if [ -n "$phase_name" ]; then printf '<== %s: %d s\n' "$phase_name" $((SECONDS - phase_start)); fi
  phase_name=""
}
phase() {
  end_phase
  phase_name=$1
  phase_start=$SECONDS
  printf '==> %s\n' "$1"
}
end_suite() {
  local rc=$1
  end_phase
  if [ "$rc" = 0 ]; then
    printf '==> passed after %d s\n' $((SECONDS - suite_start))
  else
    printf '==> FAILED (exit %d) after %d s\n' "$rc" $((SECONDS - suite_start))
  fi
}
trap 'end_suite $?' EXIT
