#!/usr/bin/env bash
# `make dev`: the whole stack on this machine — DynamoDB Local with the sessions table,
# the WeChat sandbox, and `cargo lambda watch` serving the functions. Ctrl-C stops all.
#
# Ports: DYNAMODB_PORT (8000), SANDBOX_PORT (9100), LAMBDA_PORT (9000); SANDBOX_HOST.
# `scripts/dev.sh --check` starts everything, walks the login once, and stops (CI uses it).
# `scripts/dev.sh --run CMD ARGS…` starts everything, runs CMD with WXLOGIN_API_URL and
# WXLOGIN_SANDBOX_URL set, and stops, exiting with CMD's status (`make test` runs the
# client's tests this way).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-9100}
# 0.0.0.0 lets `sam local` containers reach the sandbox (see README, Local).
SANDBOX_HOST=${SANDBOX_HOST:-127.0.0.1}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
# Local-only credentials: the sandbox accepts exactly these.
WECHAT_APPID=${WECHAT_APPID:-wx0000000000local1}
WECHAT_SECRET=${WECHAT_SECRET:-local-sandbox-secret}
SESSIONS_TABLE=${SESSIONS_TABLE:-wxlogin-sessions}
check_only=false
run_command=()
case "${1:-}" in
  --check) check_only=true ;;
  --run)
    shift
    [ "$#" -gt 0 ] || die "--run needs a command"
    run_command=("$@")
    ;;
esac

require_tools
require_port_free "$DYNAMODB_PORT" "DynamoDB Local" DYNAMODB_PORT
require_port_free "$SANDBOX_PORT" "WeChat sandbox" SANDBOX_PORT
require_port_free "$LAMBDA_PORT" "cargo lambda watch" LAMBDA_PORT
ensure_dynamodb_local
ensure_cargo_lambda
trap stop_services EXIT
trap 'echo; log "stopping"; exit 0' INT TERM

# Warm the debug build so the first request does not wait minutes on a compile.
log "building (the first build on a fresh machine takes a few minutes)"
cargo build --locked -p onlogin -p decrypt-phone -p session -p wechat-sandbox -p wxlogin-devkit

log "starting DynamoDB Local on port $DYNAMODB_PORT"
start_dynamodb_local "$DYNAMODB_PORT"
target/debug/wxlogin-dev create-table "http://127.0.0.1:$DYNAMODB_PORT" "$SESSIONS_TABLE"

log "starting the WeChat sandbox on port $SANDBOX_PORT"
WECHAT_APPID=$WECHAT_APPID WECHAT_SECRET=$WECHAT_SECRET SANDBOX_PORT=$SANDBOX_PORT SANDBOX_HOST=$SANDBOX_HOST \
  start_service wechat-sandbox target/debug/wechat-sandbox
wait_port "$SANDBOX_PORT" "the WeChat sandbox" 30 "$LAST_PID"

log "starting cargo lambda watch on port $LAMBDA_PORT"
start_service cargo-lambda-watch cargo lambda watch --quiet \
  --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
  --env-var "WECHAT_APPID=$WECHAT_APPID" \
  --env-var "WECHAT_SECRET=$WECHAT_SECRET" \
  --env-var "WECHAT_API_BASE=http://127.0.0.1:$SANDBOX_PORT" \
  --env-var "SESSIONS_TABLE=$SESSIONS_TABLE" \
  --env-var "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT" \
  --env-var "AWS_ACCESS_KEY_ID=local" \
  --env-var "AWS_SECRET_ACCESS_KEY=local" \
  --env-var "AWS_REGION=us-east-1" \
  --env-var "RUST_LOG=info"
wait_port "$LAMBDA_PORT" "cargo lambda watch" 120 "$LAST_PID"

# cargo lambda watch compiles a function on its first request; make that request here, so
# the stack is ready when we say so (minutes on a cold cache).
for warm in POST:onlogin POST:decrypt-phone GET:session; do
  IFS=: read -r method function <<<"$warm"
  log "warming $function (first request compiles it)"
  deadline=$((SECONDS + 900))
  until status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -X "$method" "http://127.0.0.1:$LAMBDA_PORT/$function" -d '{}') \
    && { [ "$status" = 400 ] || [ "$status" = 401 ]; }; do
    kill -0 "$LAST_PID" 2>/dev/null || die "cargo lambda watch exited (see $LOGS/cargo-lambda-watch.log)"
    [ "$SECONDS" -lt "$deadline" ] || die "$function did not answer within 15 minutes (last status ${status:-none})"
    sleep 1
  done
done

sandbox="http://127.0.0.1:$SANDBOX_PORT"
# The same paths as API Gateway (Cargo.toml's watch router); /lambda-url/<binary> works too.
api="http://127.0.0.1:$LAMBDA_PORT"
if [ "${#run_command[@]}" -gt 0 ]; then
  log "running ${run_command[*]} against the stack"
  status=0
  WXLOGIN_API_URL=$api WXLOGIN_SANDBOX_URL=$sandbox "${run_command[@]}" || status=$?
  exit "$status"
fi
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
cat <<TXT

wxlogin is running locally:
  functions        $api/onlogin          (POST; also $api/lambda-url/onlogin)
                   $api/decrypt-phone    (POST)
                   $api/session          (GET, DELETE; cargo lambda watch, logs in $LOGS/)
  WeChat sandbox   $sandbox              (appid $WECHAT_APPID)
  DynamoDB Local   http://127.0.0.1:$DYNAMODB_PORT  (table $SESSIONS_TABLE)

Walk through a login and a phone number (copy-paste, in order):
  pick() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"\$1\"])"; }
  WXUSER=\$(curl -s -X POST $sandbox/sandbox/login -d '{}')                      # what wx.login yields
  LOGIN=\$(curl -s -X POST $api/onlogin -d "{\"code\":\"\$(echo "\$WXUSER" | pick code)\"}")
  echo "\$LOGIN"                                                   # {"token":"…","expires_in":7200,"openid":"…"}
  TOKEN=\$(echo "\$LOGIN" | pick token)
  PHONE=\$(curl -s -X POST $sandbox/sandbox/phone -d "{\"openid\":\"\$(echo "\$WXUSER" | pick openid)\",\"phoneNumber\":\"13800138000\"}")
  curl -s -X POST $api/decrypt-phone -H "authorization: Bearer \$TOKEN" \\
       -d "{\"encryptedData\":\"\$(echo "\$PHONE" | pick encryptedData)\",\"iv\":\"\$(echo "\$PHONE" | pick iv)\"}"
  curl -s -X POST $api/decrypt-phone -H "authorization: Bearer \$TOKEN" -d "{\"code\":\"\$(echo "\$PHONE" | pick code)\"}"
  # both → {"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86"}
  curl -s "$api/session?check=wechat" -H "authorization: Bearer \$TOKEN"   # {"openid":"…","expires_in":…}
  curl -s -X DELETE $api/session -H "authorization: Bearer \$TOKEN"        # {"logged_out":true}

Ctrl-C stops everything.
TXT

if $check_only; then
  log "checking the walk"
  user=$(curl -sf -X POST "$sandbox/sandbox/login" -d '{}')
  code=$(echo "$user" | json_field code)
  login=$(curl -s --max-time 600 -X POST "$api/onlogin" -d "{\"code\":\"$code\"}")
  token=$(echo "$login" | json_field token 2>/dev/null) || die "the walk did not yield a token: $login"
  [ "${#token}" = 43 ] || die "unexpected token: $login"
  # The replay goes through cargo-lambda's own path, so both local paths are checked.
  replay=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/lambda-url/onlogin" -d "{\"code\":\"$code\"}")
  [ "$replay" = 409 ] || die "a replayed code answered $replay, expected 409"
  phone=$(curl -sf -X POST "$sandbox/sandbox/phone" -d "{\"openid\":\"$(echo "$user" | json_field openid)\",\"phoneNumber\":\"13800138000\"}")
  legacy=$(curl -s --max-time 600 -X POST "$api/decrypt-phone" -H "authorization: Bearer $token" \
    -d "{\"encryptedData\":\"$(echo "$phone" | json_field encryptedData)\",\"iv\":\"$(echo "$phone" | json_field iv)\"}")
  [ "$(echo "$legacy" | json_field purePhoneNumber 2>/dev/null)" = 13800138000 ] || die "legacy phone form failed: $legacy"
  current=$(curl -s -X POST "$api/decrypt-phone" -H "authorization: Bearer $token" -d "{\"code\":\"$(echo "$phone" | json_field code)\"}")
  [ "$(echo "$current" | json_field purePhoneNumber 2>/dev/null)" = 13800138000 ] || die "code phone form failed: $current"
  who=$(curl -s "$api/session?check=wechat" -H "authorization: Bearer $token")
  [ "$(echo "$who" | json_field openid 2>/dev/null)" = "$(echo "$user" | json_field openid)" ] || die "GET /session failed: $who"
  logout=$(curl -s -X DELETE "$api/session" -H "authorization: Bearer $token")
  [ "$(echo "$logout" | json_field logged_out 2>/dev/null)" = True ] || die "DELETE /session failed: $logout"
  after=$(curl -s -o /dev/null -w '%{http_code}' "$api/session" -H "authorization: Bearer $token")
  [ "$after" = 401 ] || die "a logged-out token answered $after, expected 401"
  log "the walk works: token, replay 409, phone by encryptedData and by code, session check, logout"
  exit 0
fi
wait
