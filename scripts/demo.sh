#!/usr/bin/env bash
# Quick start 1: backtest the SMA example on built-in synthetic data; writes out/demo/report.html.
source "$(dirname "$0")/_env.sh"
tradeloop backtest examples/sma_cross.py --symbol BTC-USDT --cash 10000 --fee 0.001 \
  --param fast=10 --param slow=50 --interval 1h --bars 20000 --out out/demo "$@"
