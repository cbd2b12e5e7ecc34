"""Object sources: an abstract listing/download interface with two variants, a (requester-pays)
S3 bucket and a local directory laid out like one (development, tests, the demo, a mirror).

Every download is verified before anyone reads it: its size, and its content against the
ETag (the MD5 of a single-part upload, or the MD5 of the MD5s of each part of a multipart one,
whose part size S3 tells with ``HeadObject(PartNumber=1)``); S3's own checksums are checked by
botocore on the way (``ChecksumMode=ENABLED``). An ETag that is not of either form is refused:
a server that lists one is not a server to trust with a file name.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from abc import abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

# A single-part ETag is 32 hex digits; a multipart one adds "-<number of parts>" (<= 10,000).
ETAG = re.compile(r"^[0-9a-f]{32}(-[1-9][0-9]{0,4})?$")
READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class SourceObject:
    """One object under the source prefix, as listed."""

    key: str
    size: int
    etag: str
    last_modified: str  # ISO 8601 UTC

    @property
    def parts(self) -> int | None:
        """How many parts it was uploaded in; None for a single-part upload (whose ETag is the
        MD5 of the content, where a multipart one of 1 part is the MD5 of that part's MD5)."""
        return int(self.etag.split("-")[1]) if "-" in self.etag else None


class SourceIntegrityError(RuntimeError):
    """A downloaded object does not match what it was listed with, or a listing is not
    well-formed. The object's day fails; the run goes on."""


class SourceUnavailableError(RuntimeError):
    """The source cannot be read at all (after botocore's retries): the run stops at once,
    naming the object it was reading."""


def md5_hex(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def multipart_etag(path: Path, part_size: int, parts: int) -> str:
    """The ETag S3 gives an object uploaded in ``parts`` parts of ``part_size`` bytes."""
    digests = []
    with path.open("rb") as handle:
        for _ in range(parts):
            digests.append(hashlib.md5(handle.read(part_size), usedforsecurity=False).digest())
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{parts}"


def check_etag(obj: SourceObject) -> None:
    if not ETAG.match(obj.etag):
        raise SourceIntegrityError(
            f"{obj.key}: the listing gives a malformed ETag {obj.etag[:80]!r}; refused"
        )


class ObjectSource(ConfigurableResource):
    """Where the files of one dataset come from; ``prefix`` is the dataset's folder."""

    prefix: str = Field(description="Key prefix of the dataset's objects")

    @abstractmethod
    def describe(self) -> str:
        """Where the objects are, for messages: ``s3://bucket/prefix`` or a local path."""

    @abstractmethod
    def list_objects(self, since: date | None = None) -> list[SourceObject]:
        """Every object under the prefix. With ``since``, keys that sort before
        ``<prefix><day before since>`` may be skipped (S3 ``StartAfter``): that saves listing old
        history in the ``<prefix>YYYY-MM-DD...`` layout and skips nothing dated later in any
        layout."""

    @abstractmethod
    def download(self, obj: SourceObject, dest: Path) -> None:
        """Write ``obj`` to ``dest`` and verify it against its listing; raise
        :class:`SourceIntegrityError` when it does not match, :class:`SourceUnavailableError`
        when the source cannot be read."""

    def _start_after(self, since: date | None) -> str | None:
        return self.prefix + (since - timedelta(days=1)).isoformat() if since else None


def _listed(item: dict[str, Any]) -> SourceObject:
    return SourceObject(
        key=item["Key"],
        size=int(item["Size"]),
        etag=item["ETag"].strip('"').lower(),
        last_modified=item["LastModified"].astimezone(UTC).isoformat(),
    )


class S3ObjectSource(ObjectSource):
    """A bucket on S3 or any S3-compatible endpoint. ``request_payer`` is sent on every call
    (list, head, get) that accepts it; the archives are requester-pays. Credentials are found
    the usual boto3 way (environment, ``~/.aws``, instance role). Transient errors are retried
    by botocore (standard mode); a connection that stops sending fails after the read timeout,
    so a stalled download costs at most ``max_attempts`` times it."""

    bucket: str = Field(description="S3 bucket name")
    region_name: str = Field(default="us-east-1", description="Region of the bucket")
    endpoint_url: str | None = Field(default=None, description="An S3-compatible endpoint")
    request_payer: str = Field(
        default="requester", description="RequestPayer sent on every S3 call; empty for none"
    )
    max_attempts: int = Field(default=5, ge=1, description="Attempts per call (botocore)")
    connect_timeout_seconds: float = Field(default=10, gt=0)
    read_timeout_seconds: float = Field(default=30, gt=0)
    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        """One boto3 client for the resource's life (making one costs ~0.2-0.4 s; clients are
        thread-safe)."""
        if self._client is None:
            config = BotoConfig(
                connect_timeout=self.connect_timeout_seconds,
                read_timeout=self.read_timeout_seconds,
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
            )
            client = boto3.session.Session().client(
                "s3", region_name=self.region_name, endpoint_url=self.endpoint_url, config=config
            )
            if self.request_payer:
                add_request_payer(client, self.request_payer)
            self._client = client
        return self._client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list_objects(self, since: date | None = None) -> list[SourceObject]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        if start_after := self._start_after(since):
            kwargs["StartAfter"] = start_after
        try:
            pages = self.client().get_paginator("list_objects_v2").paginate(**kwargs)
            return [
                _listed(item)
                for page in pages
                for item in page.get("Contents", [])
                if not item["Key"].endswith("/")
            ]
        except (BotoCoreError, ClientError) as exc:
            raise SourceUnavailableError(f"listing {self.describe()} failed: {exc}") from exc

    def download(self, obj: SourceObject, dest: Path) -> None:
        check_etag(obj)
        client = self.client()
        request = {"Bucket": self.bucket, "Key": obj.key}
        try:
            response = client.get_object(**request, IfMatch=f'"{obj.etag}"', ChecksumMode="ENABLED")
            with dest.open("wb") as handle:
                for chunk in response["Body"].iter_chunks(READ_BLOCK):
                    handle.write(chunk)
            part_size = (
                client.head_object(**request, PartNumber=1).get("ContentLength")
                if obj.parts
                else obj.size
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"PreconditionFailed", "NoSuchKey", "404", "412"}:
                raise SourceIntegrityError(
                    f"{obj.key}: changed or removed since it was listed ({code}); rerun to "
                    "load its current version"
                ) from exc
            raise SourceUnavailableError(f"{obj.key}: {exc}") from exc
        except BotoCoreError as exc:  # checksum mismatch, connection and read errors
            if "checksum" in str(exc).lower():
                raise SourceIntegrityError(f"{obj.key}: {exc}") from exc
            raise SourceUnavailableError(f"{obj.key}: {exc}") from exc
        if part_size is None:
            raise SourceIntegrityError(f"{obj.key}: the server does not tell its part size")
        verify(obj, dest, part_size)


class LocalObjectSource(ObjectSource):
    """A local directory laid out like the bucket; ``prefix`` applies inside it. ETags are the
    files' MD5s, as S3 gives single-part uploads."""

    directory: str = Field(description="Local directory read instead of S3")

    def _root(self) -> Path:
        return Path(self.directory)

    def describe(self) -> str:
        return str(self._root() / self.prefix)

    def list_objects(self, since: date | None = None) -> list[SourceObject]:
        base = self._root() / self.prefix
        if not base.exists():
            raise SourceUnavailableError(f"source directory {base} does not exist")
        start_after = self._start_after(since)
        found = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            key = path.relative_to(self._root()).as_posix()
            if start_after and key <= start_after:
                continue
            stat = path.stat()
            found.append(
                SourceObject(
                    key=key,
                    size=stat.st_size,
                    etag=md5_hex(path),
                    last_modified=datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                )
            )
        return found

    def download(self, obj: SourceObject, dest: Path) -> None:
        check_etag(obj)
        root = self._root().resolve()
        path = (root / obj.key).resolve()
        if not path.is_relative_to(root):
            raise SourceIntegrityError(f"{obj.key}: resolves outside {root}; refused")
        try:
            shutil.copyfile(path, dest)
        except FileNotFoundError as exc:
            raise SourceIntegrityError(f"{obj.key}: removed since it was listed") from exc
        verify(obj, dest, obj.size)


def verify(obj: SourceObject, path: Path, part_size: int) -> None:
    """Raise unless ``path`` has the listed size and content (by ETag)."""
    size = path.stat().st_size
    if size != obj.size:
        raise SourceIntegrityError(f"{obj.key}: downloaded {size} bytes, listing says {obj.size}")
    parts = obj.parts
    actual = multipart_etag(path, part_size, parts) if parts else md5_hex(path)
    if actual != obj.etag:
        raise SourceIntegrityError(
            f"{obj.key}: content does not match its ETag {obj.etag} (got {actual})"
        )


def add_request_payer(client: Any, payer: str) -> None:
    """Send ``RequestPayer`` on every S3 operation that accepts it (list, head, get, ...).

    Registered on ``provide-client-params`` so paginators and managed transfers get it too.
    """

    def _set_payer(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.input_shape is not None and "RequestPayer" in model.input_shape.members:
            params.setdefault("RequestPayer", payer)

    client.meta.events.register("provide-client-params.s3.*", _set_payer)
