"""Every archive layout and record encoding of the data contract, one at a time: loaded
exactly (every event once, decimals as text, error messages kept), reloaded without change, and
placed in its day by the sensor. A 30-day range with one corrupt day loads the other 29."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from dagster import AssetKey, build_sensor_context

from twap_pipeline import sample
from twap_pipeline.definitions import defs
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline.sensors import RANGE_END, RANGE_START, twap_status_s3_sensor
from twap_pipeline_tests.support import (
    PREFIX,
    expected_events,
    failure_message,
    run_pipeline,
    same_events,
    table_events,
)

FIRST = date(2026, 3, 1)


def events_as_stored(events: pl.DataFrame, style: sample.Style) -> pl.DataFrame:
    """What the table must hold: millisecond archives keep milliseconds."""
    if style.encoding == "ms_in_ns":
        return events.with_columns(time=pl.col("time").str.slice(0, 23) + "000000")
    return events


@pytest.mark.parametrize(
    "style", [*sample.STYLES, sample.MS_IN_NS], ids=lambda s: f"{s.layout}-{s.encoding}"
)
def test_each_style_loads_exactly_and_reloads_unchanged(style, tmp_path, database_url, db):
    events = sample.generate_events(FIRST, 2, twaps_per_day=80, seed=31, wallets=20)
    root = tmp_path / "source"
    sample.write_dataset(root, PREFIX, events, dict.fromkeys(events["day"].unique(), style))
    source = LocalObjectSource(directory=str(root), prefix=PREFIX)
    landing = tmp_path / "landing"
    area = LandingArea(directory=str(landing))
    last = FIRST + timedelta(days=1)
    assert run_pipeline(source, area, database_url, FIRST, last).success
    floats = set(events["day"].unique()) if style.encoding == "floats" else set()
    expected = expected_events(events_as_stored(events, style))
    same_events(table_events(db), expected, floats)
    errors = db.execute("SELECT DISTINCT error FROM twap_status WHERE status = 'error'").fetchall()
    assert {e for (e,) in errors} <= set(sample.ERRORS) and errors
    before = table_events(db)
    assert run_pipeline(source, area, database_url, FIRST, last).success
    assert table_events(db) == before


def test_sensor_places_every_layout_in_its_day(tmp_path, instance):
    events = sample.generate_events(FIRST, len(sample.STYLES), twaps_per_day=20, seed=4)
    days = sorted(events["day"].unique())
    styles = dict(zip(days, sample.STYLES, strict=True))
    written = sample.write_dataset(tmp_path, PREFIX, events, styles)
    source = LocalObjectSource(directory=str(tmp_path), prefix=PREFIX)
    with build_sensor_context(
        instance=instance, resources={"source": source}, definitions=defs
    ) as context:
        [request] = twap_status_s3_sensor.evaluate_tick(context).run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == (
        days[0].isoformat(),
        days[-1].isoformat(),
    )
    assert request.tags["twap/objects"] == str(len(written.files))


@pytest.mark.slow  # a month of data
def test_one_corrupt_day_costs_only_itself(tmp_path, database_url, db, instance):
    events = sample.generate_events(FIRST, 30, twaps_per_day=40, seed=8, wallets=30)
    root = tmp_path / "source"
    sample.write_dataset(root, PREFIX, events)
    bad_day = FIRST + timedelta(days=17)
    bad_key = sample.object_keys(PREFIX, bad_day, sample.style_for(bad_day).layout)[0]
    good_bytes = (root / bad_key).read_bytes()
    (root / bad_key).write_bytes(b"PAR1" + good_bytes[4:-200])  # truncated in transit
    source = LocalObjectSource(directory=str(root), prefix=PREFIX)
    landing = LandingArea(directory=str(tmp_path / "landing"))
    last = FIRST + timedelta(days=29)
    result = run_pipeline(source, landing, database_url, FIRST, last, instance=instance)
    assert not result.success
    message = failure_message(result)
    assert message.startswith("1 day(s) not loaded (rolled back); 29 day(s) committed")
    assert f"{bad_day}: {bad_key}: " in message
    good = events.filter(pl.col("day") != bad_day)
    same_events(table_events(db), expected_events(good), set())
    stored_days = db.execute("SELECT count(DISTINCT partition_date) FROM twap_status").fetchone()
    assert stored_days == (29,)
    # Dagster shows the 29 days materialized, for both tables, and not the bad one.
    for asset in ("twap_status", "twap_orders"):
        materialized = instance.get_materialized_partitions(AssetKey(asset))
        assert len(materialized) == 29 and bad_day.isoformat() not in materialized
    orders = db.execute("SELECT count(*) FROM twap_orders").fetchone()[0]
    assert orders == good["twap_id"].n_unique()
    # Upstream fixes the file: rerunning that one day completes the month.
    (root / bad_key).write_bytes(good_bytes)
    assert run_pipeline(source, landing, database_url, bad_day, instance=instance).success
    same_events(table_events(db), expected_events(events), set())
    assert (
        db.execute("SELECT count(*) FROM twap_orders").fetchone()[0] == events["twap_id"].n_unique()
    )
