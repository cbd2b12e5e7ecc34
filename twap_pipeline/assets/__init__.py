"""Dagster assets: twap_status (list, download, load each day) and twap_orders derived from it."""

from twap_pipeline.assets.orders import twap_orders
from twap_pipeline.assets.status import twap_status

__all__ = ["twap_orders", "twap_status"]
