#!/usr/bin/env bash
# `make test`: installs what is missing, starts one DynamoDB Local for the whole run,
# runs every Rust test (unit, black-box against DynamoDB Local + sandbox, real binaries,
# the events/ fixtures), then README.md's copy-paste walk (scripts/walkthrough-check.sh)
# and the mini-program client's tests (Node's test runner) against one start of the whole
# local stack as `make dev` runs it, then checks the SAM templates (ours and
# examples/protected-route's): `sam validate --lint`, cfn-lint, and an arm64 `sam build` of
# ours. SKIP_SAM_BUILD=1 skips only the (slow) build, for quick local runs.
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
stop_services

log "README.md's walk and client/'s node --test against DynamoDB Local + sandbox + cargo lambda watch"
WXLOGIN_LOG_DIR=$CACHE/logs/client-tests \
  DYNAMODB_PORT=$(free_port) SANDBOX_PORT=$(free_port) LAMBDA_PORT=$(free_port) GATEWAY_PORT=$(free_port) \
  scripts/dev.sh --check --run node --test client/test/

ensure_sam_tools
log "checking template.yaml and examples/protected-route/template.yaml: sam validate --lint, cfn-lint"
for template in template.yaml examples/protected-route/template.yaml; do
  sam validate --lint --region us-east-1 --template-file "$template"
  cfn-lint "$template"
done
if [ "${SKIP_SAM_BUILD:-}" = 1 ]; then
  log "SKIP_SAM_BUILD=1: not running sam build"
else
  log "sam build (arm64 through cargo-lambda and zig; minutes on a cold cache)"
  started=$SECONDS
  sam build --build-dir "$CACHE/sam-build"
  log "sam build took $((SECONDS - started)) s; bootstrap sizes:"
  ls -l "$CACHE"/sam-build/*/bootstrap >&2
fi
