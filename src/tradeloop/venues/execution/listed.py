"""The identity and knowledge hooks most venues answer the same way (the venue kit).

Every REST venue's :class:`~tradeloop.venues.execution.VenueHooks` repeated the same six
one-liners: the instrument is looked up in the gateway's dict, ids are native symbol + suffix,
the client id is kept when the venue's pattern accepts it (else the kit's stable hash), the
private stream's state comes from the gateway, and errors are read by the venue's
:class:`~tradeloop.venues.execution.ErrorTable`. :class:`ListedHooks` answers them once; a
venue sets ``venue``, ``ids``, ``errors`` and ``client_ids`` and writes only its requests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from tradeloop.core.errors import VenueError
from tradeloop.model import Instrument
from tradeloop.venues.execution.early import OrderIds
from tradeloop.venues.execution.errors import ErrorTable, stable_client_id
from tradeloop.venues.execution.hooks import VenueHooks, Verdict
from tradeloop.venues.parsing import VenueIds


class ListedHooks(VenueHooks):
    """Hooks over ``rest`` and the gateway's ``instruments`` (by id); ``streaming`` says
    whether the private stream is up. Request hooks stay abstract."""

    ids: ClassVar[VenueIds]
    errors: ClassVar[ErrorTable]
    #: client ids the venue takes as they are; others become the kit's stable hash
    client_ids: ClassVar[re.Pattern[str]]

    def __init__(
        self,
        rest: Any,
        instruments: Mapping[str, Instrument],
        streaming: Callable[[], bool],
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest, self.instruments, self._streaming = rest, instruments, streaming
        self.now_ns = now_ns
        #: venue order id -> venue client id, for pushes naming only the order (FTX fills)
        self.order_ids = OrderIds()

    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def venue_client_id(self, client_order_id: str) -> str:
        return stable_client_id(client_order_id, self.client_ids.fullmatch)

    def native_symbol(self, symbol: str) -> str:
        inst = self.instruments.get(symbol)
        return inst.native if inst is not None else self.ids.native(symbol)

    def symbol_id(self, native: str) -> str:
        return self.ids.symbol_id(native)

    def streaming(self) -> bool:
        return self._streaming()

    def classify(self, exc: VenueError) -> Verdict:
        return self.errors.classify(exc)
