"""The matching engine and account simulator shared by the backtester and the emulator."""

from tradeloop.sim.config import BarFill, SimConfig
from tradeloop.sim.exchange import FundingPayment, SimExchange
from tradeloop.sim.records import SimOrder

__all__ = ["BarFill", "FundingPayment", "SimConfig", "SimExchange", "SimOrder"]
