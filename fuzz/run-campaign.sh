#!/usr/bin/env bash
# Run every fuzz target one after another, one process each (-jobs=1),
# with the given seconds per small target and for verify_bytes:
#   fuzz/run-campaign.sh [SMALL_SECONDS] [VERIFY_SECONDS]
# Needs cargo-fuzz; on stable Rust, RUSTC_BOOTSTRAP=1 lets it pass -Z flags.
# Release build (-O) with debug assertions and overflow checks (-a), ASan on.
# Logs go to fuzz/logs/<target>.log; crashes to fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
small="${1:-300}"
big="${2:-1200}"
export RUSTC_BOOTSTRAP=1
[ -d seeds ] || ./seeds.sh
mkdir -p logs
cargo fuzz build -O -a
run() {
  local target="$1" seconds="$2" seeds="seeds/$1"
  mkdir -p "corpus/$target"
  [ -d "$seeds" ] || seeds=""
  cargo fuzz run -O -a "$target" "corpus/$target" $seeds -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -max_len=131072 \
    -print_final_stats=1 > "logs/$target.log" 2>&1
  echo "$target: exit $? $(grep -E '^stat::number_of_executed_units' "logs/$target.log")"
}
for t in detect member_name shell_assignments layout manifest fwkit_manifest jcat \
         minisign_signature minisign_public_key minisign_secret_key; do
  run "$t" "$small"
done
run verify_bytes "$big"
