#!/usr/bin/env bash
# The separate Python environment for the BitMEX third-party proof (issue 11): ccxt 4.5.82 is the
# last ccxt release with a `bitmex` exchange, while the project's .venv carries a newer ccxt, so
# tests/venues/bitmex/test_ccxt_*.py and bench/bitmex_ingest.py run their ccxt side under
# .venv-ccxt4582/bin/python. Idempotent and quick once set up (one stamp comparison). It never
# fails the caller: when the install cannot be done, it says so on stderr, leaves no stamp, and
# the tests that need it skip with that reason.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-ccxt4582"
STAMP="$VENV/.ccxt-bitmex-installed"
# ccxt itself, plus what tradeloop's BitMEX decode path needs when the bench imports it from src/
WANT="ccxt==4.5.82 msgspec>=0.18 numpy>=1.26"
PY="${PYTHON:-python3}"
[ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
mkdir -p "$VENV"
{
  rm -f "$STAMP"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --timeout 30 --retries 2 $WANT \
    && "$VENV/bin/python" -c "import ccxt, ccxt.pro; assert ccxt.__version__ == '4.5.82'; ccxt.bitmex" \
    && echo "$WANT" > "$STAMP"
} >"$VENV/setup.log" 2>&1 || true
if [ ! -f "$STAMP" ]; then
  echo "ccxt_bitmex_env.sh: could not set up $VENV with $WANT; the ccxt BitMEX tests will skip (see $VENV/setup.log)" >&2
fi
exit 0
