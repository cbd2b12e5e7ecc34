"""The code location loads and wires what the UI, the daemon and the CLI rely on."""

import itertools

from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus
from dagster._core.definitions.backfill_policy import BackfillPolicyType

from twap_pipeline.definitions import defs


def test_asset_graph_is_the_ingest_chain_then_orders():
    graph = defs.resolve_asset_graph()
    chain = ["twap_status", "twap_orders"]
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(chain)
    for upstream, downstream in itertools.pairwise(chain):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys
    for name in chain:
        node = graph.get(AssetKey(name))
        assert node.partitions_def.timezone == "UTC"
        assert node.backfill_policy.policy_type == BackfillPolicyType.SINGLE_RUN
    assert graph.get(AssetKey("twap_status")).group_name == "twap_ingest"


def test_blocking_checks_guard_both_tables():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {
        ("twap_status", "rows_match_source"),
        ("twap_status", "unique_event_keys"),
        ("twap_status", "rows_valid"),
        ("twap_status", "lifecycle_consistent"),
        ("twap_status", "freshness_check"),
        ("twap_orders", "one_row_per_twap"),
        ("twap_orders", "executed_within_requested"),
    } == checks


def test_sensors_and_schedule_run_by_default():
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"twap_status_s3_sensor", "twap_freshness_sensor"}
    assert all(s.default_status == DefaultSensorStatus.RUNNING for s in sensors.values())
    assert sensors["twap_status_s3_sensor"].job_name == "twap_daily_job"
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
