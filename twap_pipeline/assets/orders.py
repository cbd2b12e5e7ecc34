"""``twap_orders``: one row per TWAP, recomputed after each load for the TWAPs it touched."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from twap_pipeline.assets.ingest import INGEST, run_days, twap_status
from twap_pipeline.checks import (
    ORDERS_ASSET,
    ORDERS_CHECKS,
    check_specs,
    orders_checks,
    reject_if_failed,
)
from twap_pipeline.loading import refresh_orders
from twap_pipeline.resources import PostgresResource

ORDER_TOTALS = """
SELECT count(*) AS twaps,
    count(*) FILTER (WHERE status = 'activated') AS running,
    count(DISTINCT wallet) AS wallets
FROM twap_orders JOIN touched_twaps USING (twap_id)
"""


@asset(
    deps=[twap_status],
    kinds={"postgres"},
    check_specs=check_specs(ORDERS_ASSET, ORDERS_CHECKS),
    description="One row per TWAP: final status, executed size/notional, average price.",
    **INGEST,
)
def twap_orders(context: AssetExecutionContext, postgres: PostgresResource):
    days = run_days(context)
    postgres.ensure_schema()
    with postgres.connect() as conn:
        refresh_orders(conn, days)
        twaps, running, wallets = conn.execute(ORDER_TOTALS).fetchone()
        outcomes = orders_checks(conn)
        yield from reject_if_failed(conn, ORDERS_ASSET, outcomes, "twap_orders refresh")
    yield MaterializeResult(
        metadata={"twaps_recomputed": twaps, "still_running": running, "wallets": wallets}
    )
    for outcome in outcomes:
        yield outcome.result(ORDERS_ASSET)
