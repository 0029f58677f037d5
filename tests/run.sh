#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what a fresh machine lacks,
# then runs the typecheck, the unit tests and (only when they pass) the end-to-end builds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/vitest ] || npm ci --no-audit --no-fund --loglevel=error
./reprolab doctor --tests || ./reprolab doctor --tests --install
npx tsc --noEmit
# The fast unit tests first: when one fails, stop before the long end-to-end part.
npx vitest run tests/unit "$@"
npx vitest run tests/e2e "$@"
