"""Dagster assets: the ingest chain (objects -> files -> twap_status) and twap_orders."""

from twap_pipeline.assets.ingest import twap_status, twap_status_files, twap_status_objects
from twap_pipeline.assets.orders import twap_orders

__all__ = ["twap_orders", "twap_status", "twap_status_files", "twap_status_objects"]
