#!/usr/bin/env bash
# The README's test command: set up (idempotent), check the import contracts, run the test suite.
# RT_SLOW=1 also runs the slow image-build and boot tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
