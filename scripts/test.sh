#!/usr/bin/env bash
# `make test`: installs what is missing, starts one DynamoDB Local for the whole run,
# runs every Rust test (the tiers of docs/testing.md: unit and fast, the stack tier on
# DynamoDB Local + sandbox, the real binaries), then the client package's build and types
# (client/scripts/build.test.mjs, ES2017 and tsc in client/types-test/), then README.md's copy-paste walk
# (scripts/walkthrough-check.sh), the mini-program client's tests (Node's test runner) and
# the playground's browser test (headless Chromium, installed with apt-get when missing)
# against one start of the whole local stack as `make dev` runs it, the walk once more on a
# stack of two apps (`make dev APPS=2`), then checks the templates (ours, examples/edge-waf/template.yaml,
# examples/protected-route's and examples/jwt-authorizer's): `sam validate --lint`, cfn-lint in five regions of both
# partitions, and an arm64 `sam build` of ours. SKIP_SAM_BUILD=1 skips only the (slow) build, for quick local runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_tools
ensure_dynamodb_local
ensure_moto
ensure_verifier_venv
ensure_client_type_tools
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

# The playground lives in the devkit, which no function may link (what sam build deploys).
# Read first, then searched: a failing `cargo tree` must stop the run, not pass the check.
deployed_crates=$(cargo tree --locked -e normal --prefix none \
  -p onlogin -p decrypt-phone -p session -p account -p wechat-events -p retention -p phone-packs -p authorizer \
  -p token -p signing-keys)
if grep -q '^devkit ' <<<"$deployed_crates"; then
  die "a function links devkit (the playground, the test harness): deployed code must not"
fi

# The package wxlogin-client: its committed CommonJS builds are current and export what
# the ES module does, npm pack holds only what users need, and tsc accepts its types from
# ES module and CommonJS projects (node10, node16, bundler) and refuses every line of
# client/types-test/mistakes.ts. No stack, no network.
log "the client's build and types"
node --test client/scripts/build.test.mjs
node client/types-test/check.mjs

# examples/miniprogram/ with WeChat's own tools, offline: miniprogram-ci's packNpm (构建 npm)
# builds its npm from client/, and miniprogram-simulate (WeChat's wcc) renders its page and
# phone-button component on the BUILT package. No stack.
log "the example mini-program: packNpm and miniprogram-simulate"
ensure_miniprogram_tools
npm test --prefix examples/miniprogram/test

ensure_browser
log "README.md's walk, client/'s node --test and the playground in headless Chromium against DynamoDB Local + sandbox + cargo lambda watch"
# As make dev runs them: DynamoDB Local and watch on ports browsers refuse.
stack_dynamodb_port=$(free_browser_blocked_port)
stack_lambda_port=$(free_browser_blocked_port "$stack_dynamodb_port")
stack_secrets_port=$(free_browser_blocked_port "$stack_dynamodb_port" "$stack_lambda_port")
WXLOGIN_LOG_DIR=$CACHE/logs/client-tests \
  DYNAMODB_PORT=$stack_dynamodb_port SANDBOX_PORT=$(free_port) LAMBDA_PORT=$stack_lambda_port GATEWAY_PORT=$(free_port) \
  SECRETS_PORT=$stack_secrets_port scripts/dev.sh --check --run scripts/stack-tests.sh
log "README.md's walk again against a stack of two mini-programs (make dev APPS=2)"
WXLOGIN_LOG_DIR=$CACHE/logs/two-apps APPS=2 \
  DYNAMODB_PORT=$stack_dynamodb_port SANDBOX_PORT=$(free_port) LAMBDA_PORT=$stack_lambda_port GATEWAY_PORT=$(free_port) \
  SECRETS_PORT=$stack_secrets_port scripts/dev.sh --check

ensure_sam_tools
# The regions the docs name (docs/operations.md, "Choosing a region"): the China regions
# are another partition (aws-cn), so ARNs, hosts and resource types are checked there too.
SAM_CHECK_REGIONS=(us-east-1 ap-east-1 ap-southeast-1 cn-north-1 cn-northwest-1)
log "checking template.yaml, examples/edge-waf/template.yaml, examples/protected-route/template.yaml and examples/jwt-authorizer/template.yaml: sam validate --lint (us-east-1, cn-north-1), cfn-lint (${SAM_CHECK_REGIONS[*]})"
for template in template.yaml examples/edge-waf/template.yaml examples/protected-route/template.yaml examples/jwt-authorizer/template.yaml; do
  for region in us-east-1 cn-north-1; do
    sam validate --lint --region "$region" --template-file "$template"
  done
  cfn-lint --regions "${SAM_CHECK_REGIONS[@]}" -- "$template"
  # cfn-lint accepts a literal partition, which breaks the stack in aws-cn.
  if grep -n 'arn:aws:' "$template"; then
    die "$template: an ARN with a literal aws partition; write arn:\${AWS::Partition}:"
  fi
done
if [ "${SKIP_SAM_BUILD:-}" = 1 ]; then
  log "SKIP_SAM_BUILD=1: not running sam build"
else
  log "sam build (arm64 through cargo-lambda and zig; minutes on a cold cache)"
  started=$SECONDS
  sam build --build-dir "$CACHE/sam-build"
  log "sam build took $((SECONDS - started)) s; bootstrap sizes:"
  ls -l "$CACHE"/sam-build/*/bootstrap >&2
  # The playground is make dev's: no deployed binary may carry its routes.
  for bootstrap in "$CACHE"/sam-build/*/bootstrap; do
    if grep -a -q '/playground' "$bootstrap"; then
      die "$bootstrap carries the playground's routes: it must be served by the dev stack only"
    fi
  done
  log "no deployed binary carries the playground's routes"
fi
