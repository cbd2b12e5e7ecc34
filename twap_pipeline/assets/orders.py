"""``twap_orders``: one row per TWAP, recomputed after each load for the TWAPs it touched."""

from dagster import AssetExecutionContext, Failure, MaterializeResult, asset

from twap_pipeline.assets.config import DatabaseRetryConfig, retry_or_fail
from twap_pipeline.assets.status import GROUP, ORDERS, SINGLE_RUN, twap_status
from twap_pipeline.checks import orders as orders_checks
from twap_pipeline.checks.verdicts import check_result
from twap_pipeline.loading.orders import refresh_orders
from twap_pipeline.partitions import daily_partitions, run_days
from twap_pipeline.resources import DatabaseUnavailableError, PostgresResource


@asset(
    deps=[twap_status],
    kinds={"postgres"},
    check_specs=[c.spec(ORDERS) for c in orders_checks.CHECKS],
    description="One row per TWAP: final status, executed size/notional, average price.",
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=SINGLE_RUN,
)
def twap_orders(
    context: AssetExecutionContext, config: DatabaseRetryConfig, postgres: PostgresResource
):
    days = run_days(context)
    try:
        postgres.ensure_schema()
        with postgres.connect(autocommit=True) as conn:
            refresh = refresh_orders(conn, days)
    except DatabaseUnavailableError as exc:
        retry_or_fail(context, config, str(exc))
    by_check = {v.check: v for v in refresh.verdicts}
    results = [
        check_result(ORDERS, c, dict.fromkeys(days, by_check[c.name])) for c in orders_checks.CHECKS
    ]
    if not refresh.committed:
        yield from results
        span = f"{days[0]}" if len(days) == 1 else f"{days[0]} .. {days[-1]}"
        raise Failure(
            description=f"{span}: twap_orders refresh rolled back, the database is unchanged: "
            f"{refresh.failure()}"
        )
    yield MaterializeResult(
        metadata={
            "twaps_recomputed": refresh.twaps,
            "still_running": refresh.running,
            "wallets": refresh.wallets,
        }
    )
    yield from results
