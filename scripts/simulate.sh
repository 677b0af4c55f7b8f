#!/usr/bin/env bash
# The README's run command: set up (idempotent), then run the terminal on simulated hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/receipt-terminal run --simulate --state-dir "${STATE_DIR:-./sim-state}" --demo "${DEMO_SALES:-4}" "$@"
