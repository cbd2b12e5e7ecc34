"""The sources against moto's S3 server and a local directory: requester-pays on the wire,
listing, verified downloads (single-part and multipart), retries; the landing area."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSResponse

from twap_pipeline.resources import (
    LandingArea,
    LocalObjectSource,
    S3ObjectSource,
    SourceIntegrityError,
    SourceObject,
    SourceUnavailableError,
)
from twap_pipeline_tests.support import FIRST_DAY, PREFIX, run_pipeline


class WireRecordingSource(S3ObjectSource):
    """S3ObjectSource whose client records every HTTP request it sends."""

    sent: ClassVar[list[tuple[str, str | None]]] = []

    def client(self) -> Any:
        client = super().client()

        def record(request: Any, event_name: str, **_: Any) -> None:
            payer = request.headers.get("x-amz-request-payer")
            self.sent.append((event_name.rsplit(".", 1)[-1], payer.decode() if payer else None))

        client.meta.events.unregister("before-send.s3.*", record)
        client.meta.events.register("before-send.s3.*", record, unique_id="wire-record")
        return client


def test_every_s3_call_of_a_run_sends_request_payer(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    WireRecordingSource.sent.clear()
    source = bucket.source(WireRecordingSource)
    assert run_pipeline(source, landing, database_url, FIRST_DAY, date(2025, 6, 3)).success
    operations = {op for op, _ in WireRecordingSource.sent}
    assert {"ListObjectsV2", "GetObject"} <= operations
    assert all(payer == "requester" for _, payer in WireRecordingSource.sent), (
        WireRecordingSource.sent
    )


def test_request_payer_can_be_turned_off(bucket):
    WireRecordingSource.sent.clear()
    bucket.source(WireRecordingSource, request_payer="").list_objects()
    assert WireRecordingSource.sent == [("ListObjectsV2", None)]


@pytest.mark.slow  # uploads 1,128 objects
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
    with pytest.raises(SourceIntegrityError, match="changed or removed since it was listed"):
        source.download(stale, tmp_path / "bad")


def test_multipart_objects_are_verified_part_by_part(bucket, tmp_path: Path):
    body = tmp_path / "big"
    body.write_bytes(os.urandom(11 * 1024 * 1024))
    parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024**2)
    bucket.client.upload_file(str(body), bucket.name, PREFIX + "2025-06-01.parquet", Config=parts)
    source = bucket.source()
    [listed] = source.list_objects()
    assert listed.parts == 3
    source.download(listed, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == body.read_bytes()


@pytest.mark.parametrize("etag", ["../../../../x/pwn-1", "abc", "0" * 32 + "-x", "0" * 33])
def test_malformed_etags_are_refused(bucket, tmp_path: Path, etag):
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "2025-06-01.parquet", Body=b"abc")
    [listed] = bucket.source().list_objects()
    hostile = SourceObject(listed.key, listed.size, etag, listed.last_modified)
    with pytest.raises(SourceIntegrityError, match="malformed ETag"):
        bucket.source().download(hostile, tmp_path / "x")


class EmptyBody:
    def stream(self, **_: Any):
        yield b""


def test_transient_s3_errors_are_retried(bucket, tmp_path: Path):
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "2025-06-01.parquet", Body=b"abc")
    failures = {"left": 2}

    class FlakySource(S3ObjectSource):
        def client(self) -> Any:
            client = super().client()

            def flaky(request: Any, **_: Any) -> AWSResponse | None:
                if request.method == "GET" and failures["left"]:
                    failures["left"] -= 1
                    return AWSResponse(request.url, 503, {}, EmptyBody())
                return None

            client.meta.events.register("before-send.s3.GetObject", flaky, unique_id="flaky")
            return client

    source = bucket.source(FlakySource)
    [listed] = source.list_objects()
    source.download(listed, tmp_path / "file")
    assert failures["left"] == 0
    assert (tmp_path / "file").read_bytes() == b"abc"


def test_local_source_lists_like_the_bucket(tmp_path: Path):
    (tmp_path / PREFIX / "date=2025-06-01").mkdir(parents=True)
    (tmp_path / PREFIX / "date=2025-06-01" / "part-0.parquet").write_bytes(b"abc")
    [obj] = LocalObjectSource(directory=str(tmp_path), prefix=PREFIX).list_objects()
    assert obj.key == f"{PREFIX}date=2025-06-01/part-0.parquet"
    assert obj.etag == "900150983cd24fb0d6963f7d28e17f72"  # MD5, like a single-part S3 ETag


def test_missing_local_source_is_named(tmp_path: Path):
    with pytest.raises(SourceUnavailableError, match="does not exist"):
        LocalObjectSource(directory=str(tmp_path / "nope"), prefix=PREFIX).list_objects()


def test_landed_files_are_reused_only_while_they_re_verify(bucket, tmp_path: Path):
    # A legal S3 key far longer than a file name may be.
    key = PREFIX + "/".join(["deep" * 12] * 12) + "/2025-06-01.parquet"
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"abc")
    source = bucket.source()
    [obj] = source.list_objects()
    assert len(obj.key) > 600
    landing = LandingArea(directory=str(tmp_path / "landing"))
    day = date(2025, 6, 1)
    assert landing.reusable(day, obj) is None
    path = landing.receive(day, obj, lambda dest: source.download(obj, dest))
    assert path.read_bytes() == b"abc"
    assert path.parent.parent == (tmp_path / "landing").resolve()
    assert landing.reusable(day, obj) == path
    path.write_bytes(b"abd")  # the same size, other bytes: a corrupt landed copy
    assert landing.reusable(day, obj) is None
    assert not path.exists()
