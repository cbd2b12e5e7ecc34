"""What happens on a bad day: corrupt, empty and hostile sources, a failing or stalled S3, a
database that drops a connection or stops answering. Each time the tables stay exact (or
unchanged) and the message names the file, the key or the day."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from twap_pipeline import sample
from twap_pipeline.instance import write_dagster_home
from twap_pipeline.resources import LandingArea, PostgresResource
from twap_pipeline_tests.faults import (
    S3FaultProxy,
    TcpForwarder,
    can_make_network_namespaces,
    network_path,
)
from twap_pipeline_tests.support import (
    PREFIX,
    expected_events,
    failure_message,
    run_pipeline,
    same_events,
    table_events,
)

FIRST = date(2025, 9, 1)
DAYS = 3
LAST = FIRST + timedelta(days=DAYS - 1)
DAILY = sample.Style("daily", "strings")


@pytest.fixture(scope="module")
def fault_events() -> pl.DataFrame:
    return sample.generate_events(FIRST, DAYS, twaps_per_day=150, seed=41, wallets=30)


@pytest.fixture
def published(bucket, fault_events, tmp_path):
    """The days uploaded as one parquet file each, the middle one as a multipart upload (its
    ETag is not an MD5 of the content)."""
    root = tmp_path / "source"
    sample.write_dataset(
        root, PREFIX, fault_events, dict.fromkeys(fault_events["day"].unique(), DAILY)
    )
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        if str(FIRST + timedelta(days=1)) in key:
            upload_multipart(bucket, key, path.read_bytes())
        else:
            bucket.client.upload_file(str(path), bucket.name, key)
    return root


def write_daily(root, events: pl.DataFrame) -> None:
    sample.write_dataset(root, PREFIX, events, dict.fromkeys(events["day"].unique(), DAILY))


def upload_multipart(bucket, key: str, data: bytes) -> None:
    upload = bucket.client.create_multipart_upload(Bucket=bucket.name, Key=key)
    part = bucket.client.upload_part(
        Bucket=bucket.name, Key=key, PartNumber=1, UploadId=upload["UploadId"], Body=data
    )
    bucket.client.complete_multipart_upload(
        Bucket=bucket.name,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )


def day_key(day: date) -> str:
    return sample.object_keys(PREFIX, day, "daily")[0]


MIDDLE = FIRST + timedelta(days=1)


def test_a_multipart_object_corrupted_in_transit_fails_its_day_and_is_fetched_again(
    bucket, published, fault_events, tmp_path, database_url, db
):
    key = day_key(MIDDLE)
    etags = {o.key: o.etag for o in bucket.source().list_objects()}
    assert etags[key].endswith("-1")
    landing = LandingArea(directory=str(tmp_path / "landing"))
    with S3FaultProxy(bucket.endpoint) as proxy:
        source = bucket.source(endpoint_url=proxy.url)
        proxy.faults.corrupt[key] = -1
        result = run_pipeline(source, landing, database_url, FIRST, LAST)
        assert not result.success
        message = failure_message(result)
        assert f"{MIDDLE}: {key}: content does not match its ETag" in message
        tries = proxy.faults.gets[key]
        assert tries >= 2  # tried once more before giving up
        good = fault_events.filter(pl.col("day") != MIDDLE)
        same_events(table_events(db), expected_events(good), set())
        assert not (tmp_path / "landing" / MIDDLE.isoformat()).exists() or not any(
            (tmp_path / "landing" / MIDDLE.isoformat()).iterdir()
        )
        # Once the network behaves, the rerun downloads it again and loads it exactly.
        proxy.faults.corrupt.clear()
        assert run_pipeline(source, landing, database_url, MIDDLE).success
        assert proxy.faults.gets[key] == tries + 1
        same_events(table_events(db), expected_events(fault_events), set())


def test_corruption_once_is_repaired_by_the_retry(
    bucket, published, fault_events, tmp_path, database_url, db
):
    key = day_key(FIRST)
    landing = LandingArea(directory=str(tmp_path / "landing"))
    with S3FaultProxy(bucket.endpoint) as proxy:
        proxy.faults.corrupt[key] = 1
        source = bucket.source(endpoint_url=proxy.url)
        assert run_pipeline(source, landing, database_url, FIRST, LAST).success
        assert proxy.faults.gets[key] >= 2
    same_events(table_events(db), expected_events(fault_events), set())


def test_a_forged_etag_cannot_write_outside_the_landing_area(
    bucket, published, fault_events, tmp_path, database_url, db
):
    key = day_key(LAST)
    landing_dir = tmp_path / "deep" / "er" / "landing"
    with S3FaultProxy(bucket.endpoint) as proxy:
        proxy.faults.forged_etags[key] = "../../../../x/pwn-1"
        source = bucket.source(endpoint_url=proxy.url)
        result = run_pipeline(
            source, LandingArea(directory=str(landing_dir)), database_url, FIRST, LAST
        )
    assert not result.success
    assert f"{LAST}: {key}: the listing gives a malformed ETag" in failure_message(result)
    assert not list(tmp_path.rglob("pwn*"))
    assert all(p.resolve().is_relative_to(landing_dir.resolve()) for p in landing_dir.rglob("*"))
    good = fault_events.filter(pl.col("day") != LAST)
    same_events(table_events(db), expected_events(good), set())


def test_a_source_that_refuses_reads_stops_the_run_at_once(
    bucket, published, tmp_path, database_url, db
):
    with S3FaultProxy(bucket.endpoint) as proxy:
        proxy.faults.fail_all_gets = 403
        source = bucket.source(endpoint_url=proxy.url)
        landing = LandingArea(directory=str(tmp_path / "landing"))
        started = time.monotonic()
        result = run_pipeline(source, landing, database_url, FIRST, LAST)
        assert time.monotonic() - started < 30
    assert not result.success
    message = failure_message(result)
    assert f"stopped: {FIRST}: {day_key(FIRST)}: " in message and "AccessDenied" in message
    assert f"not attempted: {FIRST}, {MIDDLE}, {LAST}" in message
    # No further file was fetched after the first failure (the parser may have one in hand).
    assert sum(proxy.faults.gets.values()) <= 2
    assert db.execute("SELECT count(*) FROM twap_status").fetchone() == (0,)


def test_a_stalled_download_fails_within_its_timeout_naming_the_key(
    bucket, published, tmp_path, database_url, db
):
    key = day_key(FIRST)
    with S3FaultProxy(bucket.endpoint) as proxy:
        proxy.faults.stall.add(key)
        source = bucket.source(endpoint_url=proxy.url, read_timeout_seconds=1, max_attempts=2)
        landing = LandingArea(directory=str(tmp_path / "landing"))
        started = time.monotonic()
        result = run_pipeline(source, landing, database_url, FIRST)
        assert time.monotonic() - started < 20
    assert not result.success
    assert f"stopped: {FIRST}: {key}: " in failure_message(result)


def empty_file(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    sample.to_source_frame(frame.clear(), "strings").write_parquet(buffer)
    return buffer.getvalue()


def test_a_republished_empty_file_cannot_delete_a_loaded_day(
    bucket, published, fault_events, landing, database_url, db
):
    source = bucket.source()
    assert run_pipeline(source, landing, database_url, FIRST, LAST).success
    before = table_events(db)
    stored = fault_events.filter(pl.col("day") == MIDDLE).height
    bucket.client.put_object(Bucket=bucket.name, Key=day_key(MIDDLE), Body=empty_file(fault_events))
    for last in (None, LAST):  # one day, and a range
        result = run_pipeline(source, landing, database_url, MIDDLE, last)
        assert not result.success
        message = failure_message(result)
        assert f"{MIDDLE}: the files offer 0 events where {stored} are stored" in message
        assert table_events(db) == before
    # The operator can say it is real.
    assert run_pipeline(source, landing, database_url, MIDDLE, allow_shrinking_days=True).success
    assert db.execute(
        "SELECT count(*) FROM twap_status WHERE partition_date = %s", [MIDDLE]
    ).fetchone() == (0,)


def republish(bucket, day: date, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    bucket.client.put_object(Bucket=bucket.name, Key=day_key(day), Body=buffer.getvalue())


def load_damaged_middle_day(bucket, fault_events, landing, database_url, damage):
    """Re-publish the middle day with ``damage`` done to its rows, load it: the load fails."""
    frame = sample.to_source_frame(fault_events.filter(pl.col("day") == MIDDLE), "strings")
    republish(bucket, MIDDLE, damage(frame))
    result = run_pipeline(bucket.source(), landing, database_url, MIDDLE)
    assert not result.success
    return result


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda f: f.with_columns(state_coin=pl.lit("BTC\x00")),
            "column 'state_coin': a value holds a NUL",
        ),
        (lambda f: f.with_columns(state_sz=pl.lit("1e999999")), "column 'state_sz': "),
        (lambda f: f.with_columns(state_coin=pl.lit("X" * 10_000_000)), "longer than 4096"),
        (lambda f: f.with_columns(state_timestamp=pl.lit(9_000_000_000_000_000)), "1970-9999"),
    ],
    ids=["nul", "exponent", "10MB-coin", "year-285k"],
)
def test_values_that_would_break_copy_name_their_file(
    bucket, published, fault_events, landing, database_url, db, damage, expected
):
    result = load_damaged_middle_day(bucket, fault_events, landing, database_url, damage)
    message = failure_message(result)
    assert f"{MIDDLE}: {day_key(MIDDLE)}" in message and expected in message
    assert "COPY twap_status, line" not in message
    assert db.execute("SELECT count(*) FROM twap_status").fetchone() == (0,)


def test_an_error_that_escapes_copy_is_mapped_back_to_its_file_and_row(
    bucket, published, fault_events, landing, database_url, db
):
    frame = fault_events.filter(pl.col("day") == MIDDLE)
    victim = frame["twap_id"][7]
    db.execute(
        f"""CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF NEW.twap_id = {victim} THEN
                  RAISE EXCEPTION 'refused' USING ERRCODE = 'invalid_parameter_value';
              END IF;
              RETURN NEW; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON twap_status
            FOR EACH ROW EXECUTE FUNCTION refuse()"""
    )
    try:
        result = run_pipeline(bucket.source(), landing, database_url, MIDDLE)
    finally:
        db.execute("DROP TRIGGER refuse ON twap_status; DROP FUNCTION refuse()")
    assert not result.success
    first_row = frame.with_row_index().filter(pl.col("twap_id") == victim)["index"][0] + 1
    assert f"{MIDDLE}: {day_key(MIDDLE)} (row {first_row}): refused" in failure_message(result)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda f: f.with_columns(state_timestamp=pl.col("state_timestamp") // 1000),
            "created before 2023",
        ),
        (lambda f: f.with_columns(twap_id=-pl.col("twap_id")), "negative twap_id"),
    ],
    ids=["seconds-not-ms", "negative-id"],
)
def test_implausible_values_fail_rows_valid(
    bucket, published, fault_events, landing, database_url, db, damage, problem
):
    result = load_damaged_middle_day(bucket, fault_events, landing, database_url, damage)
    [check] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert check.check_name == "rows_valid"
    assert problem in check.metadata["sample_rows"].value[0]["problems"]


def test_markers_and_checksum_files_beside_the_data_are_skipped(
    bucket, published, fault_events, landing, database_url, db
):
    for name in ("_SUCCESS", ".part-0.parquet.crc", "part-0.parquet.crc"):
        bucket.client.put_object(Bucket=bucket.name, Key=f"{PREFIX}{MIDDLE}/{name}", Body=b"")
    result = run_pipeline(bucket.source(), landing, database_url, FIRST, LAST)
    assert result.success
    skipped = result.asset_materializations_for_node("twap_status")[0].metadata["skipped_keys"]
    assert len(skipped.value) == 3
    same_events(table_events(db), expected_events(fault_events), set())


def test_a_dropped_database_connection_is_retried(
    bucket, published, fault_events, landing, database_url, db
):
    import psycopg

    params = psycopg.conninfo.conninfo_to_dict(database_url)
    target = (params.get("host") or "127.0.0.1", int(params.get("port") or 5432))
    if str(target[0]).startswith("/"):
        pytest.skip("the database is reached through a Unix socket")
    with TcpForwarder(target) as forwarder:
        dropped = {"done": False}

        def drop_once(sent: int) -> None:
            if sent > 100_000 and not dropped["done"]:
                dropped["done"] = True
                forwarder.drop_connections()

        forwarder.on_bytes = drop_once
        host, port = forwarder.address
        url = psycopg.conninfo.make_conninfo(database_url, host=host, port=port)
        result = run_pipeline(bucket.source(), landing, url, FIRST, LAST, database_retry_seconds=0)
    assert dropped["done"]
    assert result.success, failure_message(result)
    same_events(table_events(db), expected_events(fault_events), set())


SILENT_LOAD = """
import sys
from datetime import date
from twap_pipeline.resources import LandingArea, LocalObjectSource, PostgresResource
from twap_pipeline_tests.support import failure_message, run_pipeline

source = LocalObjectSource(directory=sys.argv[1], prefix=sys.argv[2])
result = run_pipeline(source, LandingArea(directory=sys.argv[3]), sys.argv[4],
    date.fromisoformat(sys.argv[5]), date.fromisoformat(sys.argv[6]), database_retries=0,
    postgres=PostgresResource(database_url=sys.argv[4], keepalive_idle_seconds=1,
        keepalive_interval_seconds=1, keepalive_count=2, connect_timeout_seconds=3))
print("SUCCESS" if result.success else "FAILED: " + failure_message(result), flush=True)
"""


@pytest.mark.slow  # a network namespace and a load in another process
@pytest.mark.skipif(not can_make_network_namespaces(), reason="needs root and ip netns")
def test_a_database_that_stops_answering_fails_the_load_within_seconds(
    fault_events, tmp_path, database_url, db
):
    import psycopg

    root = tmp_path / "source"
    sample.write_dataset(
        root, PREFIX, fault_events, dict.fromkeys(fault_events["day"].unique(), DAILY)
    )
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    target = (params.get("host") or "127.0.0.1", int(params.get("port") or 5432))
    if str(target[0]).startswith("/"):
        pytest.skip("the database is reached through a Unix socket")
    with network_path() as path, TcpForwarder(target, (path.host_address, 0)) as forwarder:
        # The load runs in the namespace and reaches PostgreSQL across the veth link; the
        # link goes down in the middle of its COPY.
        forwarder.on_bytes = lambda sent: sent > 100_000 and path.cut()
        url = psycopg.conninfo.make_conninfo(
            database_url, host=forwarder.address[0], port=forwarder.address[1]
        )
        started = time.monotonic()
        load = subprocess.run(
            path.command([sys.executable, "-c", textwrap.dedent(SILENT_LOAD), str(root), PREFIX,
                          str(tmp_path / "landing"), url, str(FIRST), str(LAST)]),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    output = load.stdout.strip().splitlines()[-1] if load.stdout.strip() else load.stderr[-2000:]
    assert output.startswith("FAILED: "), output
    assert "stopped answering" in output
    assert elapsed < 60
    # The server saw the client vanish: the writers' lock is free, a second load goes ahead.
    landing = LandingArea(directory=str(tmp_path / "landing2"))
    from twap_pipeline.resources import LocalObjectSource

    source = LocalObjectSource(directory=str(root), prefix=PREFIX)
    assert run_pipeline(
        source, landing, database_url, FIRST, LAST, postgres=PostgresResource(
            database_url=database_url, lock_timeout_seconds=20
        )
    ).success  # fmt: skip
    same_events(table_events(db), expected_events(fault_events), set())


def test_waiting_for_another_writer_is_bounded_and_named(
    bucket, published, landing, database_url, db
):
    import psycopg

    from twap_pipeline.db.schema import WRITE_LOCK_KEY

    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
        postgres = PostgresResource(database_url=database_url, lock_timeout_seconds=1)
        result = run_pipeline(
            bucket.source(), landing, database_url, FIRST, postgres=postgres, database_retries=0
        )
    assert not result.success
    message = failure_message(result)
    assert "waited 1 s for another load to release the writers' lock" in message


@pytest.mark.slow  # starts a process
def test_a_killed_run_leaves_only_whole_days_and_the_rerun_completes(
    bucket, published, fault_events, tmp_path, database_url, db
):
    """A run killed mid-range (OOM, container restart) has committed whole days only; its
    connection and write lock die with it, so the next run loads the range exactly."""
    home = write_dagster_home(tmp_path / "home", tmp_path / "dagster")
    with S3FaultProxy(bucket.endpoint) as proxy:
        proxy.faults.stall.add(day_key(LAST))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AWS_S3_BUCKET": bucket.name,
            "AWS_S3_PREFIX": PREFIX,
            "AWS_ENDPOINT_URL": proxy.url,
            "TWAP_LANDING_DIR": str(tmp_path / "landing"),
            "DAGSTER_HOME": str(home),
        }
        for name in ("DAGSTER_PG_URL", "TWAP_SOURCE_DIR"):
            env.pop(name, None)
        command = [
            str(Path(sys.executable).with_name("dagster")),
            *("asset", "materialize", "-m", "twap_pipeline.definitions", "--select"),
            *("*twap_status", "--partition-range", f"{FIRST}...{LAST}"),
        ]
        run = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        committed = "SELECT count(DISTINCT partition_date) FROM twap_status"
        deadline = time.monotonic() + 120
        while db.execute(committed).fetchone() != (DAYS - 1,) and time.monotonic() < deadline:
            assert run.poll() is None, "the run ended before it could be killed"
            time.sleep(0.1)
        run.kill()
        run.wait(timeout=30)
    good = fault_events.filter(pl.col("day") != LAST)
    same_events(table_events(db), expected_events(good), set())

    landing = LandingArea(directory=str(tmp_path / "landing"))
    result = run_pipeline(bucket.source(), landing, database_url, FIRST, LAST)
    assert result.success
    same_events(table_events(db), expected_events(fault_events), set())
