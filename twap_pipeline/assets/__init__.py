"""Dagster assets: twap_status (list, download, load) and twap_orders derived from it."""

from twap_pipeline.assets.ingest import twap_status
from twap_pipeline.assets.orders import twap_orders

__all__ = ["twap_orders", "twap_status"]
