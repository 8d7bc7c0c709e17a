#!/usr/bin/env bash
# The test command: set up what is missing, then lint, typecheck and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent lint
npm run --silent typecheck
npm test
