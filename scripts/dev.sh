#!/usr/bin/env bash
# `make dev`: the whole stack on this machine — DynamoDB Local with the sessions table,
# the WeChat sandbox, `cargo lambda watch` serving the functions, and the gateway that
# plays API Gateway's authorizer step in front of it (`devkit gateway`: GET /me of
# examples/protected-route behind the `authorizer` function, everything else forwarded),
# which also serves the playground page (playground/, at /playground/). Ctrl-C stops all.
#
# Standard tokens: the signing keys are in a Secrets Manager secret as in AWS (moto's
# server, on SECRETS_PORT), made and rotated by the real signing-keys function
# (`devkit signing-keys`); a rotation's new key signs SIGNING_KEY_LEAD_SECONDS (8) after
# it is published, not AWS's 3 hours, so a rotation can be watched.
# Ports: DYNAMODB_PORT (6667), SANDBOX_PORT (9100), LAMBDA_PORT (6666), GATEWAY_PORT
# (9200), SECRETS_PORT (6668); SANDBOX_HOST. The gateway is the local API's one URL. Watch (CORS off) and
# DynamoDB Local (CORS closed) check no Host header, so they listen on ports browsers
# refuse (lib.sh's BROWSER_BLOCKED_PORTS): no web page may reach them, not even by DNS
# rebinding. The gateway and the sandbox answer only this machine (DEV_ALLOWED_HOSTS and
# DEV_ALLOWED_ORIGINS widen that).
# Apps: one sandbox mini-program (WECHAT_APPID, WECHAT_SECRET) by default; `APPS=2` serves
# two (wx0000000000local1 and wx0000000000local2, the stack configured with WECHAT_APPS),
# or give WECHAT_APPS='{"<appid>": "<secret>", …}' yourself.
# It prints README.md's copy-paste walk (the block between its walkthrough markers) with
# the ports in use.
# `scripts/dev.sh --check` starts everything, runs that walk with
# scripts/walkthrough-check.sh (each answer compared with the README's), and stops.
# `scripts/dev.sh --run CMD ARGS…` starts everything, runs CMD with WXLOGIN_API_URL (the
# gateway), WXLOGIN_SANDBOX_URL, WXLOGIN_GATEWAY_URL, WXLOGIN_LAMBDA_URL (watch),
# WXLOGIN_DYNAMODB_URL, WXLOGIN_SECRETS_URL and WXLOGIN_SIGNING_KEYS_SECRET set, and stops, exiting with CMD's status. `--check --run CMD …`
# does both in one start (`make test`: the walk, then the client's tests).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DYNAMODB_PORT=${DYNAMODB_PORT:-6667}
SANDBOX_PORT=${SANDBOX_PORT:-9100}
# 0.0.0.0 lets `sam local` containers reach the sandbox (see README, Local).
SANDBOX_HOST=${SANDBOX_HOST:-127.0.0.1}
LAMBDA_PORT=${LAMBDA_PORT:-6666}
GATEWAY_PORT=${GATEWAY_PORT:-9200}
SECRETS_PORT=${SECRETS_PORT:-6668}
SIGNING_KEYS_SECRET=wxlogin-signing-keys
# The routes the gateway puts behind the authorizer, "METHOD /path=function" each.
PROTECTED_ROUTES=("GET /me=me")
# Local-only credentials: the sandbox accepts exactly these.
WECHAT_APPID=${WECHAT_APPID:-wx0000000000local1}
WECHAT_SECRET=${WECHAT_SECRET:-local-sandbox-secret}
if [ -z "${WECHAT_APPS:-}" ] && [ "${APPS:-1}" = 2 ]; then
  WECHAT_APPS='{"wx0000000000local1": "local-sandbox-secret", "wx0000000000local2": "local-sandbox-secret-2"}'
fi
[ -n "${WECHAT_APPS:-}" ] || [ "${APPS:-1}" = 1 ] || [ "${APPS:-1}" = 2 ] \
  || die "APPS is 1 or 2 (for other apps, set WECHAT_APPS='{\"<appid>\": \"<secret>\", …}' yourself)"
SESSIONS_TABLE=${SESSIONS_TABLE:-wxlogin-sessions}
# The stack key, which names users and, in audit records, erased ones (no commas: watch
# splits --env-var values on them); in AWS the template generates one.
LOCAL_STACK_KEY=${STACK_KEY:-wxlogin-local-stack-key-not-a-secret-make-dev-only}
# Every local app's 消息推送 Token and EncodingAESKey (in AWS: the WeChatPushSecretName
# secret); the sandbox is given the same when it plays WeChat's console.
PUSH_TOKEN=${PUSH_TOKEN:-wxloginlocal}
PUSH_AES_KEY=${PUSH_AES_KEY:-wxloginLocalEncodingAesKey0123456789abcdefg}
check_walk=false
run_command=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --check) check_walk=true; shift ;;
    --run)
      shift
      [ "$#" -gt 0 ] || die "--run needs a command"
      run_command=("$@")
      break
      ;;
    *) die "unknown argument $1 (expected --check and/or --run CMD ARGS…)" ;;
  esac
done

require_tools
if ! is_browser_blocked_port "$LAMBDA_PORT"; then
  log "warning: LAMBDA_PORT=$LAMBDA_PORT is a port browsers can load: cargo lambda watch checks neither Host nor Origin, so a web page could reach the functions there by DNS rebinding (one of ${BROWSER_BLOCKED_PORTS[*]} closes that)"
fi
if ! is_browser_blocked_port "$SECRETS_PORT"; then
  log "warning: SECRETS_PORT=$SECRETS_PORT is a port browsers can load: moto's server checks no Host header, so a web page could read the signing keys there by DNS rebinding (one of ${BROWSER_BLOCKED_PORTS[*]} closes that)"
fi
if ! is_browser_blocked_port "$DYNAMODB_PORT"; then
  log "warning: DYNAMODB_PORT=$DYNAMODB_PORT is a port browsers can load: DynamoDB Local checks no Host header, so a web page could read the table there by DNS rebinding (one of ${BROWSER_BLOCKED_PORTS[*]} closes that)"
fi
require_port_free "$DYNAMODB_PORT" "DynamoDB Local" DYNAMODB_PORT
require_port_free "$SANDBOX_PORT" "WeChat sandbox" SANDBOX_PORT
require_port_free "$LAMBDA_PORT" "cargo lambda watch" LAMBDA_PORT
require_port_free "$GATEWAY_PORT" "the local gateway" GATEWAY_PORT
require_port_free "$SECRETS_PORT" "Secrets Manager (moto)" SECRETS_PORT
ensure_dynamodb_local
ensure_moto
ensure_cargo_lambda
trap stop_services EXIT
trap 'echo; log "stopping"; exit 0' INT TERM

# Warm the debug build so the first request does not wait minutes on a compile.
log "building (the first build on a fresh machine takes a few minutes)"
cargo build --locked -p onlogin -p decrypt-phone -p session -p account -p wechat-events -p authorizer -p protected-route-me \
  -p token -p signing-keys \
  -p wechat-sandbox -p devkit

log "starting DynamoDB Local on port $DYNAMODB_PORT"
start_dynamodb_local "$DYNAMODB_PORT"
"$TARGET_DIR/debug/devkit" create-table "http://127.0.0.1:$DYNAMODB_PORT" "$SESSIONS_TABLE"

log "starting Secrets Manager (moto) on port $SECRETS_PORT, for the signing keys"
start_service secrets-manager "$WXLOGIN_MOTO_SERVER" -H 127.0.0.1 -p "$SECRETS_PORT"
wait_port "$SECRETS_PORT" "moto's server" 60 "$LAST_PID"

# The apps, as the functions read them: one (WECHAT_APPID + WECHAT_SECRET) or several
# (WECHAT_APPS), the other variables unset so an exported one cannot conflict. They reach
# the functions through the watcher's environment, which its functions inherit (its
# --env-var splits values on commas, and JSON has them).
if [ -n "${WECHAT_APPS:-}" ]; then
  served_appids=$(python3 -c 'import json, sys; print(" ".join(json.loads(sys.argv[1])))' "$WECHAT_APPS") \
    || die "WECHAT_APPS is not a JSON object of AppSecrets by appid"
else
  served_appids=$WECHAT_APPID
fi
push_keys=$(python3 -c 'import json, sys; print(json.dumps({a: {"token": sys.argv[2], "encoding_aes_key": sys.argv[3]} for a in sys.argv[1].split()}))' \
  "$served_appids" "$PUSH_TOKEN" "$PUSH_AES_KEY")
if [ -n "${WECHAT_APPS:-}" ]; then
  served="the apps of WECHAT_APPS"
  # The authorizer binds each route to its apps (AUTHORIZER_ROUTE_APPS, required with
  # several): GET /me serves the first app, so the second app's session is refused there.
  # APPIDS tells examples/protected-route's `me` the same.
  route_apps=${AUTHORIZER_ROUTE_APPS:-"GET /me=${served_appids%% *}"}
  apps_env=(-u WECHAT_APPID -u WECHAT_SECRET -u WECHAT_APPIDS -u WECHAT_SECRET_ID
    -u WECHAT_PUSH_SECRET_ID WECHAT_APPS="$WECHAT_APPS" WECHAT_PUSH_KEYS="$push_keys"
    AUTHORIZER_ROUTE_APPS="$route_apps" APPIDS="${served_appids%% *}")
else
  served="appid $WECHAT_APPID"
  apps_env=(-u WECHAT_APPS -u WECHAT_APPIDS -u WECHAT_SECRET_ID -u WECHAT_PUSH_SECRET_ID
    WECHAT_APPID="$WECHAT_APPID" WECHAT_SECRET="$WECHAT_SECRET" WECHAT_PUSH_KEYS="$push_keys"
    APPIDS="$WECHAT_APPID")
fi

log "starting the WeChat sandbox on port $SANDBOX_PORT ($served)"
start_service wechat-sandbox env "${apps_env[@]}" SANDBOX_PORT="$SANDBOX_PORT" \
  SANDBOX_HOST="$SANDBOX_HOST" "$TARGET_DIR/debug/wechat-sandbox"
wait_port "$SANDBOX_PORT" "the WeChat sandbox" 30 "$LAST_PID"

# --disable-cors: watch's default CORS (tower-http's very_permissive) would let any web
# page read and drive it, its invoke and Runtime APIs included.
log "starting cargo lambda watch on port $LAMBDA_PORT"
start_service cargo-lambda-watch env "${apps_env[@]}" cargo lambda watch --quiet --disable-cors \
  --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
  --env-var "WECHAT_API_BASE=http://127.0.0.1:$SANDBOX_PORT" \
  --env-var "SESSIONS_TABLE=$SESSIONS_TABLE" \
  --env-var "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT" \
  --env-var "AWS_ACCESS_KEY_ID=local" \
  --env-var "AWS_SECRET_ACCESS_KEY=local" \
  --env-var "AWS_REGION=us-east-1" \
  --env-var "STACK_KEY=$LOCAL_STACK_KEY" \
  --env-var "FAILED_LOGINS_PER_CLIENT_PER_MINUTE=${FAILED_LOGINS_PER_CLIENT_PER_MINUTE:-0}" \
  --env-var "RISK_CHECK=${RISK_CHECK:-record}" \
  --env-var "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$SECRETS_PORT" \
  --env-var "SIGNING_KEYS_SECRET_ID=$SIGNING_KEYS_SECRET" \
  --env-var "SIGNING_KEYS_MAX_AGE_SECONDS=1" \
  --env-var "SIGNING_KEY_LEAD_SECONDS=${SIGNING_KEY_LEAD_SECONDS:-8}" \
  --env-var "TOKEN_ISSUER=http://127.0.0.1:$GATEWAY_PORT" \
  --env-var "TOKEN_LIFETIME_MINUTES=${TOKEN_LIFETIME_MINUTES:-15}" \
  --env-var "RUST_LOG=info"
wait_port "$LAMBDA_PORT" "cargo lambda watch" 120 "$LAST_PID"

# cargo lambda watch compiles a function on its first request; make that request here, so
# the stack is ready when we say so (minutes on a cold cache).
log "making the signing keys (the first invocation compiles signing-keys)"
"$TARGET_DIR/debug/devkit" signing-keys init "http://127.0.0.1:$SECRETS_PORT" "$SIGNING_KEYS_SECRET" \
  "http://127.0.0.1:$LAMBDA_PORT" || die "the signing keys could not be made (see $LOGS/cargo-lambda-watch.log)"

for warm in POST:onlogin POST:decrypt-phone GET:session GET:account "GET:wechat/events/${served_appids%% *}" POST:token; do
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
# The authorizer and me are not on watch's router: they are invoked by name, through the
# Lambda invoke API the gateway uses. The authorizer denies the unfilled events/authorizer.json;
# me answers an event without authorizer context with a 500 no_caller.
for warm in authorizer:authorizer:isAuthorized me:session-no-token:statusCode; do
  IFS=: read -r function fixture expect <<<"$warm"
  log "warming $function (first invocation compiles it)"
  deadline=$((SECONDS + 900))
  until answer=$(curl -s --max-time 600 -X POST --data-binary "@events/$fixture.json" \
    "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/$function/invocations") \
    && [[ $answer == *"$expect"* ]]; do
    kill -0 "$LAST_PID" 2>/dev/null || die "cargo lambda watch exited (see $LOGS/cargo-lambda-watch.log)"
    [ "$SECONDS" -lt "$deadline" ] || die "$function did not answer within 15 minutes (last answer ${answer:-none})"
    sleep 1
  done
done

log "starting the local gateway on port $GATEWAY_PORT (the authorizer in front of ${PROTECTED_ROUTES[*]})"
start_service gateway "$TARGET_DIR/debug/devkit" gateway "$GATEWAY_PORT" "http://127.0.0.1:$LAMBDA_PORT" \
  "${PROTECTED_ROUTES[@]}" --playground "$ROOT/playground" "http://127.0.0.1:$SANDBOX_PORT" \
  "http://127.0.0.1:$DYNAMODB_PORT" "$SESSIONS_TABLE"
wait_port "$GATEWAY_PORT" "the local gateway" 30 "$LAST_PID"

# Each app's 消息推送 page, as a developer saves it: the sandbox checks the URL as WeChat
# does (a signed GET echoing echostr) and then pushes there (safe mode, JSON).
for appid in $served_appids; do
  log "saving $appid's push settings in the sandbox (WeChat checks $GATEWAY_PORT/wechat/events/$appid)"
  curl -sf -X POST "http://127.0.0.1:$SANDBOX_PORT/sandbox/push-config" -H 'content-type: application/json' \
    -d "{\"appid\": \"$appid\", \"url\": \"http://127.0.0.1:$GATEWAY_PORT/wechat/events/$appid\", \"token\": \"$PUSH_TOKEN\", \"encoding_aes_key\": \"$PUSH_AES_KEY\", \"mode\": \"safe\", \"format\": \"json\"}" \
    >/dev/null || die "the sandbox could not check $appid's push URL (see $LOGS/)"
done

sandbox="http://127.0.0.1:$SANDBOX_PORT"
# watch: the same paths as API Gateway (Cargo.toml's watch router), for the gateway and
# curl only (its port is one browsers refuse).
lambda="http://127.0.0.1:$LAMBDA_PORT"
gateway="http://127.0.0.1:$GATEWAY_PORT"
# The API's one base URL, as ApiUrl is in AWS.
api=$gateway
if $check_walk || [ "${#run_command[@]}" -gt 0 ]; then
  export WXLOGIN_API_URL=$api WXLOGIN_SANDBOX_URL=$sandbox WXLOGIN_GATEWAY_URL=$gateway \
    WXLOGIN_LAMBDA_URL=$lambda WXLOGIN_DYNAMODB_URL="http://127.0.0.1:$DYNAMODB_PORT" \
    WXLOGIN_SECRETS_URL="http://127.0.0.1:$SECRETS_PORT" WXLOGIN_SIGNING_KEYS_SECRET=$SIGNING_KEYS_SECRET
  status=0
  if $check_walk; then
    log "running README.md's walk against the stack"
    scripts/walkthrough-check.sh || status=$?
  fi
  if [ "${#run_command[@]}" -gt 0 ]; then
    log "running ${run_command[*]} against the stack"
    "${run_command[@]}" || status=$?
  fi
  exit "$status"
fi

cat <<TXT

wxlogin is running locally (the API's base URL: $api, as ApiUrl in AWS):
  functions        $api/onlogin          (POST)
                   $api/decrypt-phone    (POST)
                   $api/session          (GET, DELETE)
                   $api/account          (GET, DELETE)
                   $api/wechat/events/<appid>  (WeChat's message push)
                   $api/token            (POST with Authorization: Bearer <token>: a JWT)
                   $api/.well-known/openid-configuration, $api/.well-known/jwks.json
                   (issuer $api; rotate the signing key as Secrets Manager would:
                   $TARGET_DIR/debug/devkit signing-keys rotate $lambda $SIGNING_KEYS_SECRET)
                   $api/me               (GET with Authorization: Bearer <token>; as API Gateway
                   serves it: the authorizer first (401/403 {"message"}), then me)
                   The gateway forwards the rest to cargo lambda watch at $lambda
                   (curl only: a port browsers refuse; logs in $LOGS/).
  phone packs      cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $LAMBDA_PORT phone-packs --data-ascii '{}'
                   (the hourly check of AWS, run once: each app's packs, used, left and days
                   left; the first run compiles it; set the sandbox's numbers with
                   POST $sandbox/sandbox/charge {"pack": "quick", "all": 1000, "used": 990})
  playground       $gateway/playground/  (a mini-program in the browser: taps, WeChat faults,
                   the server's items and every request; make dev only)
  WeChat sandbox   $sandbox              ($served)
  DynamoDB Local   http://127.0.0.1:$DYNAMODB_PORT  (table $SESSIONS_TABLE; for the AWS CLI and
                   SDKs: a port browsers refuse)
  The gateway and the sandbox answer only this machine (Host localhost, 127.0.0.1, [::1];
  no POST from pages of other origins): DEV_ALLOWED_HOSTS, DEV_ALLOWED_ORIGINS widen that.

Walk through a login and a phone number (README.md's walk; copy-paste, in order):

TXT
walkthrough "$api" "$sandbox" | sed 's/^/  /'
printf '\nCtrl-C stops everything.\n'
wait
