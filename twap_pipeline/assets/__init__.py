"""Dagster assets: twap_status (list, download, load each day), twap_orders derived from it,
and twap_fills (the slice fills, from the fills archive)."""

import warnings

from dagster import BetaWarning

# A range loads as one run through BackfillPolicy.single_run, a parameter Dagster marks beta:
# without this, every process that loads the code location prints the same notice.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

from twap_pipeline.assets.fills import twap_fills  # noqa: E402
from twap_pipeline.assets.orders import twap_orders  # noqa: E402
from twap_pipeline.assets.status import twap_status  # noqa: E402

__all__ = ["twap_fills", "twap_orders", "twap_status"]
