#!/usr/bin/env bash
# An instruction-level profile of the release functions (docs/benchmarks.md, "Where the
# CPU goes"): builds them with symbols into target/profiling, runs `make bench`'s runner
# with every subject under valgrind's callgrind, and dumps init, the first request and the
# warm requests apart (callgrind_control), then prints the top self costs of each dump.
# Usage: scripts/profile.sh [--requests N] [--only "onlogin (ours),authorizer"] [--env NAME=VALUE]
# (the requests after idle spells are not profiled: one is sent, after the warm dump)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v valgrind >/dev/null || die "valgrind is required (Debian: apt-get install valgrind)"
ensure_dynamodb_local
ensure_moto

export CARGO_TARGET_DIR="$ROOT/target/profiling"
log "release builds with symbols (target/profiling; minutes on a cold cache)"
CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --locked --release -p onlogin -p decrypt-phone -p session -p authorizer \
  -p bench-hello -p wxlogin-bench

out="$CACHE/profile"
rm -rf "$out" && mkdir -p "$out"
export WXLOGIN_BENCH_WRAPPER="valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file=$out/%p.out"
requests=60
only=("--only" "onlogin (ours)")
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ ${args[i]} == --requests ]] && requests=${args[i + 1]}
  [[ ${args[i]} == --only ]] && only=()
done
log "profiling under callgrind (slow: every instruction is counted)"
"$CARGO_TARGET_DIR/release/bench" --starts 1 --requests "$requests" "${only[@]}" "$@" --spaced 1 >/dev/null

for dump in "$out"/*.out.*; do
  binary=$(sed -n 's/^cmd: *//p' "$dump" | head -1)
  part=$(sed -n 's/^desc: Trigger: dump //p' "$dump")
  units=1
  [[ $part == warm ]] && units=$((requests - 1))
  echo
  echo "== $(basename "$binary"), $part ($dump)"
  python3 scripts/callgrind-self.py "$dump" "$units" 15
done
