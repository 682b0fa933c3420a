#!/usr/bin/env bash
# Quick start 2: lint, type-check and run the whole test suite (sets up .venv itself).
source "$(dirname "$0")/_env.sh"
ruff check src tests bench examples
mypy
python -m pytest "$@"
