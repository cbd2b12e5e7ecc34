"""Dagster code location that loads Hyperliquid TWAP status events into PostgreSQL."""
