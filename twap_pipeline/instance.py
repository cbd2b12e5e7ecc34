"""Where Dagster keeps its own runs, events and schedules, chosen when the instance loads:
PostgreSQL (dagster-postgres) when ``DAGSTER_PG_URL`` is set, else SQLite files on disk.

dagster.yaml cannot fall back from one storage to another by itself, so it names this class.
"""

import os
from typing import Any

from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage

PG_URL_ENV = "DAGSTER_PG_URL"
SQLITE_DIR_ENV = "TWAP_DAGSTER_STORAGE_DIR"
DEFAULT_SQLITE_DIR = ".twap/dagster_storage"


def psycopg2_url(url: str) -> str:
    """dagster-postgres needs the psycopg2 driver: with SQLAlchemy 2.1 a bare
    ``postgresql://`` selects psycopg 3, and dagster-postgres then fails on its first write."""
    for bare in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


class TwapInstanceStorage(DagsterStorage):
    """Factory named in dagster.yaml (``storage: custom:``); never instantiated itself."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> Any:
        url = os.environ.get(PG_URL_ENV)
        if url:
            return DagsterPostgresStorage(postgres_url=psycopg2_url(url), inst_data=inst_data)
        base_dir = os.environ.get(SQLITE_DIR_ENV) or DEFAULT_SQLITE_DIR
        return DagsterSqliteStorage.from_local(os.path.abspath(base_dir), inst_data=inst_data)
