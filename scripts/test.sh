#!/usr/bin/env bash
# Quick start 2: lint, type-check and run the whole test suite (sets up .venv itself).
source "$(dirname "$0")/_env.sh"
ruff check src tests bench examples
mypy
# The browser tests (tests/dashboard, marker "browser") drive Debian's chromium: install it when
# missing. CI (root, apt) always can; elsewhere they skip with the reason when this cannot.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >/dev/null 2>&1 || echo "test.sh: could not install chromium; browser tests will skip" >&2
fi
bash scripts/ccxt_bitmex_env.sh || true  # ccxt 4.5.82 beside .venv for the BitMEX proof; never fails the run
python -m pytest "$@"
