#!/usr/bin/env bash
# `make test`: installs what is missing, starts one DynamoDB Local for the whole run,
# then runs every test (unit, black-box against DynamoDB Local + sandbox, real binaries).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_tools
ensure_dynamodb_local
trap stop_services EXIT
trap 'exit 130' INT TERM

log "building tests"
cargo build --workspace --all-targets --locked

port=$(free_port)
log "starting DynamoDB Local on port $port"
start_dynamodb_local "$port"
export WXLOGIN_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile "${NEXTEST_PROFILE:-default}" "$@"
else
  cargo test --workspace --locked "$@"
fi
