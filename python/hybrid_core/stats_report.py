"""What :HybridStats shows, gathered: the ledger's figures per period and day (stats.py, read
off the loop), the models each server that can say holds in memory now (asked meanwhile),
the budget, and the cloud side the savings are counted against.
"""

from __future__ import annotations

import asyncio

from .accounting import Accountant
from .backends import backend_class
from .backends.pool import BackendPool
from .config import display_path
from .ledger import Ledger
from .live_config import LiveConfig
from .outbox import without_none
from .pricing import DEFAULT_PRICES_DATE
from .stats import usage_stats


async def stats_report(live: LiveConfig, ledger: Ledger | None, pool: BackendPool, accountant: Accountant) -> dict:
    await live.ready()
    data = {"periods": {}}
    reporting = [c for c in live.config.backends.values() if backend_class(c.type).reports_loaded_models]
    # The servers are asked while the ledger is read.
    usage, *loaded = await asyncio.gather(_usage(ledger), *(pool.loaded(c) for c in reporting))
    if usage is not None:
        data["periods"] = usage
        data["days"] = usage.pop("days")
        data["ledger"] = display_path(ledger.path)
    data["loaded"] = loaded
    data["budget"] = accountant.spend_state()
    data["cloud"] = live.router.cloud
    data["prices_date"] = DEFAULT_PRICES_DATE
    return without_none(data)


async def _usage(ledger: Ledger | None) -> dict | None:
    """The ledger's periods and days (stats.py), read off the loop; None without a ledger."""
    if ledger is None:
        return None
    await asyncio.to_thread(ledger.flush)
    return await asyncio.to_thread(usage_stats, ledger.path)
