#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what a fresh machine lacks,
# then runs the typecheck, the unit tests and the end-to-end builds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/vitest ] || npm ci --no-audit --no-fund --loglevel=error
./reprolab doctor --tests || ./reprolab doctor --tests --install
npx tsc --noEmit
npx vitest run "$@"
