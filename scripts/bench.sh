#!/usr/bin/env bash
# `make bench`: release builds of our functions, the floor and the Node onlogin, measured
# in one run (cold starts, warm requests, peak RSS) plus the stripped arm64 sizes from
# `cargo lambda build --release --arm64`. Prints the table, writes docs/bench/.
# Extra arguments go to the runner: --starts N (15), --requests N (1000), --spaced N (30:
# requests after 100 ms idle each, the CPU targets' basis), --env NAME=VALUE (for our functions),
# --only TEXT (those subjects and the floor, nothing written; `--only token,signing` for the
# token function and the key-store comparison).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_tools
ensure_dynamodb_local
ensure_moto        # Secrets Manager (the AppSecret, the token function's signing keys) and KMS
ensure_sam_tools   # cargo-lambda and zig for the arm64 build

log "installing the Node baseline's dependencies (bench/node)"
npm install --prefix bench/node --no-audit --no-fund --loglevel=error >&2

log "release builds (x86_64, measured here)"
cargo build --locked --release -p onlogin -p decrypt-phone -p session -p account -p wechat-events -p authorizer -p phone-packs -p token -p bench-hello -p wxlogin-bench

log "release builds (arm64, for the deployed size)"
cargo lambda build --release --arm64 --bin onlogin --bin decrypt-phone --bin session --bin account --bin wechat-events --bin authorizer --bin phone-packs --bin hello-floor \
  --bin me --bin token --bin signing-keys

target/release/bench "$@"
