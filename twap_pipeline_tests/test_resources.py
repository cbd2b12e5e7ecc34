"""The source resource against moto's S3 server: requester-pays on the wire, listing,
verified downloads, retries."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.awsrequest import AWSResponse

from twap_pipeline.resources import (
    SourceIntegrityError,
    SourceObject,
    TwapSource,
)
from twap_pipeline_tests.conftest import FIRST_DAY, PREFIX, run_pipeline


class WireRecordingSource(TwapSource):
    """TwapSource whose clients record every HTTP request they send."""

    sent: ClassVar[list[tuple[str, str | None]]] = []

    def get_client(self) -> Any:
        client = super().get_client()

        def record(request: Any, event_name: str, **_: Any) -> None:
            payer = request.headers.get("x-amz-request-payer")
            self.sent.append((event_name.rsplit(".", 1)[-1], payer.decode() if payer else None))

        client.meta.events.register("before-send.s3.*", record)
        return client


def test_every_s3_call_of_a_run_sends_request_payer(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    WireRecordingSource.sent.clear()
    source = WireRecordingSource(
        bucket=bucket.name, prefix=PREFIX, endpoint_url=bucket.endpoint, region_name="us-east-1"
    )
    assert run_pipeline(source, landing, database_url, FIRST_DAY, date(2025, 6, 3)).success
    operations = {op for op, _ in WireRecordingSource.sent}
    assert {"ListObjectsV2", "GetObject"} <= operations
    assert all(payer == "requester" for _, payer in WireRecordingSource.sent), (
        WireRecordingSource.sent
    )


def test_request_payer_can_be_turned_off(bucket):
    WireRecordingSource.sent.clear()
    WireRecordingSource(
        bucket=bucket.name, prefix=PREFIX, endpoint_url=bucket.endpoint, request_payer=""
    ).list_objects()
    assert WireRecordingSource.sent == [("ListObjectsV2", None)]


def test_listing_is_paginated_and_skips_history_before_since(bucket):
    for n in range(1, 29):
        bucket.client.put_object(
            Bucket=bucket.name, Key=f"{PREFIX}2025-02-{n:02d}.parquet", Body=b"x"
        )
    for n in range(1100):  # more than one page of 1,000 keys
        bucket.client.put_object(Bucket=bucket.name, Key=f"{PREFIX}z/{n:05d}", Body=b"")
    source = bucket.source()
    assert len(source.list_objects()) == 1128
    recent = source.list_objects(since=date(2025, 2, 20))
    assert [o.key for o in recent[:2]] == [
        f"{PREFIX}2025-02-19.parquet",
        f"{PREFIX}2025-02-20.parquet",
    ]
    assert len(recent) == 10 + 1100


def test_download_is_verified_against_the_listing(bucket, tmp_path: Path):
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "2025-06-01.parquet", Body=b"abc")
    source = bucket.source()
    [listed] = source.list_objects()
    source.download(listed, tmp_path / "ok")
    assert (tmp_path / "ok").read_bytes() == b"abc"
    stale = SourceObject(listed.key, listed.size, "0" * 32, listed.last_modified)
    with pytest.raises(SourceIntegrityError, match="MD5 does not match ETag"):
        source.download(stale, tmp_path / "bad")
    assert not list(tmp_path.glob("bad*"))


class EmptyBody:
    def stream(self, **_: Any):
        yield b""


def test_transient_s3_errors_are_retried(bucket, tmp_path: Path):
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "2025-06-01.parquet", Body=b"abc")
    failures = {"left": 2}

    class FlakySource(TwapSource):
        def get_client(self) -> Any:
            client = super().get_client()

            def flaky(request: Any, **_: Any) -> AWSResponse | None:
                if request.method == "GET" and failures["left"]:
                    failures["left"] -= 1
                    return AWSResponse(request.url, 503, {}, EmptyBody())
                return None

            client.meta.events.register("before-send.s3.GetObject", flaky)
            return client

    source = FlakySource(
        bucket=bucket.name, prefix=PREFIX, endpoint_url=bucket.endpoint, max_attempts=4
    )
    [listed] = source.list_objects()
    source.download(listed, tmp_path / "file")
    assert failures["left"] == 0
    assert (tmp_path / "file").read_bytes() == b"abc"


def test_local_source_dir_lists_like_the_bucket(tmp_path: Path):
    (tmp_path / PREFIX / "date=2025-06-01").mkdir(parents=True)
    (tmp_path / PREFIX / "date=2025-06-01" / "part-0.parquet").write_bytes(b"abc")
    [obj] = TwapSource(source_dir=str(tmp_path), prefix=PREFIX).list_objects()
    assert obj.key == f"{PREFIX}date=2025-06-01/part-0.parquet"
    assert obj.etag == "900150983cd24fb0d6963f7d28e17f72"  # MD5, like a single-part S3 ETag


def test_missing_local_source_dir_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="TWAP_SOURCE_DIR"):
        TwapSource(source_dir=str(tmp_path / "nope"), prefix=PREFIX).list_objects()
