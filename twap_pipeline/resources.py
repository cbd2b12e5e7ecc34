"""Configurable resources: the TWAP source (requester-pays S3 or a local mirror), the local
landing area, and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from twap_pipeline.db import schema
from twap_pipeline.db.urls import libpq_url


@dataclass(frozen=True)
class SourceObject:
    """One object under the source prefix, as listed."""

    key: str
    size: int
    etag: str
    last_modified: str  # ISO 8601 UTC


class SourceIntegrityError(RuntimeError):
    """A downloaded object does not match the size/ETag it was listed with."""


def add_request_payer(client: Any, payer: str) -> None:
    """Send ``RequestPayer`` on every S3 operation that accepts it (list, head, get, ...).

    Registered on ``provide-client-params`` so paginators and managed transfers get it too.
    """

    def _set_payer(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.input_shape is not None and "RequestPayer" in model.input_shape.members:
            params.setdefault("RequestPayer", payer)

    client.meta.events.register("provide-client-params.s3.*", _set_payer)


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class TwapSource(S3Resource):
    """Where the TWAP status parquet files come from.

    A requester-pays S3 bucket by default; any S3-compatible endpoint with ``endpoint_url``;
    or, with ``source_dir``, a local directory laid out like the bucket (``prefix`` applies
    inside it), for development and tests. Retries of transient S3 errors come from
    ``max_attempts`` (botocore "standard" retry mode).
    """

    bucket: str = Field(default="artemis-hyperliquid-data", description="S3 bucket name")
    prefix: str = Field(default="raw/twap_statuses/", description="Key prefix of the files")
    request_payer: str = Field(
        default="requester",
        description="RequestPayer sent on every S3 call; empty to send none",
    )
    source_dir: str | None = Field(
        default=None, description="Local directory read instead of S3 when set"
    )

    def get_client(self) -> Any:
        client = super().get_client()
        if self.request_payer:
            add_request_payer(client, self.request_payer)
        return client

    def describe(self) -> str:
        if self.source_dir:
            return f"{Path(self.source_dir) / self.prefix}"
        return f"s3://{self.bucket}/{self.prefix}"

    def list_objects(self, since: date | None = None) -> list[SourceObject]:
        """Every object under the prefix; with ``since``, keys that sort before the day before
        ``since`` in ISO form are skipped (S3 ``StartAfter``), which saves listing old history
        in the ``<prefix>YYYY-MM-DD...`` layout and skips nothing dated later in any layout."""
        start_after = self.prefix + (since - timedelta(days=1)).isoformat() if since else None
        if self.source_dir:
            return self._list_local(start_after)
        paginator = self.get_client().get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        found = []
        for page in paginator.paginate(**kwargs):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                found.append(
                    SourceObject(
                        key=item["Key"],
                        size=int(item["Size"]),
                        etag=item["ETag"].strip('"'),
                        last_modified=item["LastModified"].astimezone(UTC).isoformat(),
                    )
                )
        return found

    def _list_local(self, start_after: str | None) -> list[SourceObject]:
        root = Path(self.source_dir or ".")
        base = root / self.prefix
        if not base.exists():
            raise FileNotFoundError(f"TWAP_SOURCE_DIR: {base} does not exist")
        found = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            key = path.relative_to(root).as_posix()
            if start_after and key <= start_after:
                continue
            stat = path.stat()
            found.append(
                SourceObject(
                    key=key,
                    size=stat.st_size,
                    etag=_md5_of(path),
                    last_modified=datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                )
            )
        return found

    def download(self, obj: SourceObject, dest: Path) -> None:
        """Fetch ``obj`` to ``dest`` atomically and verify it against its listing."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        if self.source_dir:
            shutil.copyfile(Path(self.source_dir) / obj.key, partial)
        else:
            self.get_client().download_file(self.bucket, obj.key, str(partial))
        try:
            verify_landed(obj, partial)
        except SourceIntegrityError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, dest)


def verify_landed(obj: SourceObject, path: Path) -> None:
    """Raise unless ``path`` has the listed size and, for single-part ETags, the listed MD5."""
    size = path.stat().st_size
    if size != obj.size:
        raise SourceIntegrityError(f"{obj.key}: downloaded {size} bytes, listing says {obj.size}")
    # Multipart ETags ("<md5>-<parts>") are not an MD5 of the content: size is all we can check.
    if "-" not in obj.etag and _md5_of(path) != obj.etag:
        raise SourceIntegrityError(f"{obj.key}: MD5 does not match ETag {obj.etag}")


class LandingArea(ConfigurableResource):
    """Local directory of downloaded source files, kept so that a rerun reuses every file whose
    ETag has not changed instead of paying for it again."""

    directory: str = Field(default=".twap/landing", description="Landing directory")

    def _day_dir(self, day: date) -> Path:
        return Path(self.directory) / day.isoformat()

    def file_path(self, day: date, obj: SourceObject) -> Path:
        """Local path of a landed object: its key made flat, prefixed by its ETag so a
        re-published object never reuses a stale local copy."""
        flat = obj.key.replace("/", "__")
        return self._day_dir(day) / "files" / f"{obj.etag}__{flat}"

    def drop_stale(self, day: date, objects: list[SourceObject]) -> None:
        """Delete the day's landed files that are not ``objects`` (earlier versions of
        re-published objects, or objects no longer listed)."""
        keep = {self.file_path(day, obj) for obj in objects}
        for path in (self._day_dir(day) / "files").glob("*"):
            if path not in keep:
                path.unlink()


class PostgresResource(ConfigurableResource):
    """The PostgreSQL database holding the TWAP tables."""

    database_url: str = Field(description="postgresql://user:password@host:port/database")

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """A connection whose block is one transaction: committed on success, rolled back on
        any exception."""
        with psycopg.connect(libpq_url(self.database_url)) as conn:
            yield conn

    def ensure_schema(self) -> None:
        """Upgrade the schema to the revision this code needs (no-op when it is there)."""
        schema.upgrade(self.database_url)
