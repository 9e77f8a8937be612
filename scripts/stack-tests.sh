#!/usr/bin/env bash
# The tests that run against a started local stack (scripts/dev.sh --run), one suite after
# the other: both arm the sandbox's faults, which are global. The client's tests (Node),
# then the playground in headless Chromium, then standard JWT libraries no one here wrote
# (tests/verifiers/: jose under Node, PyJWT under Python, each pinned there) verifying the
# stack's tokens through discovery alone, while its signing keys rotate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# The verifiers' packages first, so a failed install stops the run before any suite; again
# only when the lockfile differs from the one last installed (npm ci empties node_modules,
# the copy with it).
installed_lock=tests/verifiers/node_modules/.installed-package-lock.json
if ! cmp -s tests/verifiers/package-lock.json "$installed_lock"; then
  log "installing tests/verifiers/package-lock.json (jose) with npm ci"
  npm ci --prefix tests/verifiers --no-audit --no-fund --loglevel=error >&2
  cp tests/verifiers/package-lock.json "$installed_lock"
fi
ensure_verifier_venv
node --test client/test/
node --test playground/test/
node --test tests/verifiers/jose.test.mjs
"$WXLOGIN_VERIFIER_PYTHON" tests/verifiers/test_pyjwt.py
