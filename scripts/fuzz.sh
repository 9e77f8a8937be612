#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target in fuzz/ for a bounded time (FUZZ_SECONDS, default
# 60 each). Needs a nightly toolchain, installed through rustup if missing; the same entry
# points run on stable under proptest in `make test`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

seconds=${FUZZ_SECONDS:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

for target in request_parsing decrypt push; do
  log "fuzzing $target for $seconds s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds"
done
