#!/usr/bin/env bash
# The tests that run against a started local stack (scripts/dev.sh --run), one suite after
# the other: both arm the sandbox's faults, which are global. The client's tests (Node),
# then the playground in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
node --test client/test/
node --test playground/test/
