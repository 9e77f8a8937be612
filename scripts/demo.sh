#!/usr/bin/env bash
# `make demo`: plays a mini-program against the local stack — login, phone number in both
# forms, GET /me behind the authorizer (through the local gateway), a re-login that
# rotates the key and brings the phone back, the stale data's 422, the retry, logout
# everywhere and the refused tokens (401 from us, 403 from the authorizer), then the same
# person in a second app (another openid, the same unionid) — printing each request and
# answer with secrets masked. Starts the stack (scripts/dev.sh) if it is not
# running, and stops what it started. Exits non-zero on any surprise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

SANDBOX_PORT=${SANDBOX_PORT:-9100}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
GATEWAY_PORT=${GATEWAY_PORT:-9200}
export SANDBOX_PORT LAMBDA_PORT GATEWAY_PORT

cargo build --locked --quiet -p wxlogin-devkit
trap stop_services EXIT

if port_busy "$LAMBDA_PORT" && port_busy "$SANDBOX_PORT" && port_busy "$GATEWAY_PORT"; then
  log "using the stack already running on ports $LAMBDA_PORT, $SANDBOX_PORT and $GATEWAY_PORT"
else
  # Two sandbox apps unless told otherwise: the demo ends by logging the same person into
  # the second one.
  log "starting the local stack (APPS=${APPS:-2} scripts/dev.sh; log in $LOGS/dev-stack.log)"
  start_service dev-stack env APPS="${APPS:-2}" scripts/dev.sh
  deadline=$((SECONDS + 1200))
  until grep -q "Ctrl-C stops everything" "$LOGS/dev-stack.log" 2>/dev/null; do
    kill -0 "$LAST_PID" 2>/dev/null || { tail -n 30 "$LOGS/dev-stack.log" >&2; die "the stack did not start"; }
    [ "$SECONDS" -lt "$deadline" ] || die "the stack did not start within 20 minutes"
    sleep 1
  done
fi

"$TARGET_DIR/debug/wxlogin-dev" demo "http://127.0.0.1:$LAMBDA_PORT" "http://127.0.0.1:$SANDBOX_PORT" \
  "http://127.0.0.1:$GATEWAY_PORT"

# The events/ fixtures that need no live values, through `cargo lambda invoke --data-file`
# against the same `cargo lambda watch` (the live ones are replayed by `make test`).
ensure_cargo_lambda
log "cargo lambda invoke --data-file events/…"
for fixture in onlogin-bad-body:onlogin:400 onlogin-no-body:onlogin:400 \
  decrypt-phone-no-token:decrypt-phone:401 decrypt-phone-both-forms:decrypt-phone:401 \
  session-no-token:session:401; do
  IFS=: read -r file function status <<<"$fixture"
  answer=$(cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
    --data-file "events/$file.json" "$function")
  got=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["statusCode"])') \
    || die "events/$file.json: unexpected answer: $answer"
  [ "$got" = "$status" ] || die "events/$file.json answered $got, expected $status: $answer"
  echo "   events/$file.json → $got"
done
# The authorizer's fixture, unfilled: denied.
answer=$(cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
  --data-file events/authorizer.json authorizer)
[[ $answer == *'"isAuthorized":false'* ]] || die "events/authorizer.json: expected isAuthorized false: $answer"
echo "   events/authorizer.json → $answer"
