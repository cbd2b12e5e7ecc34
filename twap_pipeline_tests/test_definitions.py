"""The code location loads and wires what the UI, the daemon and the CLI rely on."""

import itertools

from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus

from twap_pipeline.definitions import defs


def test_asset_graph_is_the_ingest_chain_then_orders_beside_the_fills():
    graph = defs.resolve_asset_graph()
    chain = ["twap_status", "twap_orders"]
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {*chain, "twap_fills"}
    for upstream, downstream in itertools.pairwise(chain):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys
    for name in chain:
        node = graph.get(AssetKey(name))
        assert node.partitions_def.timezone == "UTC"
        assert node.backfill_policy.max_partitions_per_run is None  # one run for any range
    assert graph.get(AssetKey("twap_status")).group_name == "twap_ingest"
    fills = graph.get(AssetKey("twap_fills"))
    assert fills.group_name == "twap_fills"
    assert fills.partitions_def.timezone == "UTC"
    assert fills.backfill_policy.max_partitions_per_run is None
    assert not fills.parent_keys


def test_checks_guard_every_table_and_only_unknown_statuses_and_reconciliation_warn():
    graph = defs.resolve_asset_graph()
    blocking = {
        (key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
    }
    assert blocking == {
        ("twap_status", "rows_match_source"): True,
        ("twap_status", "unique_event_keys"): True,
        ("twap_status", "rows_valid"): True,
        ("twap_status", "lifecycle_consistent"): True,
        ("twap_status", "no_day_shrinks"): True,
        ("twap_status", "statuses_known"): False,
        ("twap_orders", "one_row_per_twap"): True,
        ("twap_orders", "executed_within_requested"): True,
        ("twap_orders", "fills_reconcile"): False,
        ("twap_fills", "rows_match_source"): True,
        ("twap_fills", "unique_fill_keys"): True,
        ("twap_fills", "rows_valid"): True,
        ("twap_fills", "no_day_shrinks"): True,
        ("twap_fills", "fills_reconcile"): False,
    }


def test_twap_status_has_a_freshness_policy():
    node = defs.resolve_asset_graph().get(AssetKey("twap_status"))
    policy = node.freshness_policy
    assert policy.fail_window.to_timedelta().total_seconds() == 26 * 3600
    assert policy.warn_window.to_timedelta().total_seconds() == 2 * 3600


def test_sensor_and_schedule_run_by_default():
    sensors = {s.name: s for s in defs.sensors}
    assert {name: s.job_name for name, s in sensors.items()} == {
        "twap_status_s3_sensor": "twap_daily_job",
        "twap_fills_s3_sensor": "twap_fills_job",
    }
    assert all(s.default_status == DefaultSensorStatus.RUNNING for s in sensors.values())
    schedule = defs.resolve_schedule_def("twap_status_daily_schedule")
    assert schedule.cron_schedule == "30 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "twap_daily_job"
    job = defs.resolve_job_def("twap_daily_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "twap_status",
        "twap_orders",
    }
    fills_job = defs.resolve_job_def("twap_fills_job")
    assert {k.to_user_string() for k in fills_job.asset_layer.executable_asset_keys} == {
        "twap_fills"
    }
    assert fills_job.tags["twap/fills"] == "load"
