"""The landing area: verified local copies of source objects, kept so that a rerun reuses every
file whose object has not changed instead of paying for it again.

Each landed file is named by a hash of its object's key and ETag (any legal S3 key lands,
however long or strange) and has a sidecar ``.json`` recording the key, ETag, size and the
SHA-256 of the bytes written. A landed file is reused only when its sidecar matches the listing
and its bytes still hash to what was recorded; anything else is downloaded again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from twap_pipeline.resources.sources import READ_BLOCK, SourceObject


def sha256_hex(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class LandingArea(ConfigurableResource):
    """A local directory, one folder per UTC day."""

    directory: str = Field(default=".twap/landing", description="Landing directory")

    def _root(self) -> Path:
        return Path(self.directory).resolve()

    def _inside(self, path: Path) -> Path:
        """``path``, once proven to stay inside the landing directory."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self._root()):
            raise ValueError(f"{path} is outside the landing directory {self._root()}")
        return resolved

    def _day_dir(self, day: date) -> Path:
        return self._inside(self._root() / day.isoformat())

    def path(self, day: date, obj: SourceObject) -> Path:
        """Where ``obj`` lands (whether or not it is there yet)."""
        name = hashlib.sha256(f"{obj.key}\n{obj.etag}".encode()).hexdigest()[:40]
        return self._inside(self._day_dir(day) / name)

    def _sidecar(self, path: Path) -> Path:
        return path.with_name(path.name + ".json")

    def reusable(self, day: date, obj: SourceObject) -> Path | None:
        """The landed copy of ``obj`` when it can be re-verified, else None (and any copy that
        cannot is removed)."""
        path = self.path(day, obj)
        sidecar = self._sidecar(path)
        try:
            record = json.loads(sidecar.read_text())
            if (
                record == {**record, "key": obj.key, "etag": obj.etag, "size": obj.size}
                and path.stat().st_size == obj.size
                and sha256_hex(path) == record["sha256"]
            ):
                return path
        except (OSError, ValueError, KeyError):
            pass
        self.discard(day, obj)
        return None

    def receive(self, day: date, obj: SourceObject, fetch: Callable[[Path], None]) -> Path:
        """Land ``obj`` through ``fetch`` (which writes and verifies the file it is given),
        atomically: a failed fetch leaves nothing behind."""
        path = self.path(day, obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            fetch(partial)
            record = {"key": obj.key, "etag": obj.etag, "size": obj.size}
            record["sha256"] = sha256_hex(partial)
            self._sidecar(path).write_text(json.dumps(record))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def discard(self, day: date, obj: SourceObject) -> None:
        """Remove the landed copy of ``obj`` (one that failed to parse is fetched again)."""
        path = self.path(day, obj)
        path.unlink(missing_ok=True)
        self._sidecar(path).unlink(missing_ok=True)

    def drop_stale(self, day: date, objects: list[SourceObject]) -> None:
        """Delete the day's landed files that are not ``objects`` (earlier versions of
        re-published objects, or objects no longer listed)."""
        keep = {self.path(day, obj) for obj in objects}
        keep |= {self._sidecar(p) for p in keep}
        folder = self._day_dir(day)
        for path in folder.glob("*") if folder.exists() else ():
            if path not in keep:
                path.unlink()
