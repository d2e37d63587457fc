#!/usr/bin/env bash
# Run every fuzz target, one libFuzzer process each (-jobs=1), with the given
# seconds per small target and for verify_bytes:
#   fuzz/run-campaign.sh [SMALL_SECONDS] [VERIFY_SECONDS]   (0 skips verify_bytes)
# FUZZ_LANES=N runs N targets side by side (default 1; use at most the number
# of cores). Needs cargo-fuzz; on stable Rust, RUSTC_BOOTSTRAP=1 lets it pass
# -Z flags. Release build (-O) with debug assertions and overflow checks (-a),
# ASan on. Logs go to fuzz/logs/<target>.log; crashes to
# fuzz/artifacts/<target>/; one summary line per target to logs/campaign.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
small="${1:-600}"
big="${2:-1200}"
lanes="${FUZZ_LANES:-1}"
export RUSTC_BOOTSTRAP=1
[ -d seeds ] || ./seeds.sh
mkdir -p logs
cargo fuzz build -O -a || exit 2
run() {
  local target="$1" seconds="$2" seeds="seeds/$1" start end
  mkdir -p "corpus/$target"
  [ -d "$seeds" ] || seeds=""
  start=$(date +%s)
  cargo fuzz run -O -a "$target" "corpus/$target" $seeds -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -max_len=131072 \
    -print_final_stats=1 > "logs/$target.log" 2>&1
  local rc=$?
  end=$(date +%s)
  echo "$(date -u +%FT%TZ) $target: exit $rc, $((end - start)) s wall," \
    "$(grep -E '^stat::number_of_executed_units' "logs/$target.log")" | tee -a logs/campaign.log
}
export -f run
small_targets=(layout detect manifest jcat member_name shell_assignments fwkit_manifest
               minisign_signature minisign_public_key minisign_secret_key authenticode)
printf '%s\n' "${small_targets[@]}" | xargs -P "$lanes" -I{} bash -c "run {} $small"
[ "$big" -gt 0 ] && run verify_bytes "$big"
