"""The API's settings, read from the environment once (``get_settings``), and the server's
(``twap api``: host, port, workers)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from twap_pipeline.db.urls import libpq_url

CommaSeparated = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """``DATABASE_URL`` is required (any PostgreSQL URL form); everything else has a default.
    Names are the environment variables of the README's table."""

    # Fields read TWAP_API_<NAME> unless they name their variable; in code, pass field names.
    model_config = SettingsConfigDict(env_prefix="TWAP_API_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        validation_alias="DATABASE_URL",
        description="PostgreSQL holding the twap tables (read access is enough)",
    )
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_seconds: float = Field(default=5.0, gt=0, validation_alias="TWAP_API_POOL_TIMEOUT")
    health_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        validation_alias="TWAP_API_HEALTH_TIMEOUT",
    )
    statement_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias="TWAP_API_STATEMENT_TIMEOUT",
    )
    connect_timeout_seconds: int = Field(
        default=5,
        ge=1,
        validation_alias="TWAP_API_CONNECT_TIMEOUT",
    )
    stale_after_hours: float = Field(
        default=26.0,
        gt=0,
        validation_alias="TWAP_API_STALE_HOURS",
        description="/healthz says stale when the newest event is older than this",
    )
    cache_max_age_seconds: int = Field(
        default=3600,
        ge=0,
        validation_alias="TWAP_API_CACHE_MAX_AGE",
        description="max-age of pages that lie wholly before the newest loaded day",
    )
    cors_origins: CommaSeparated = Field(default_factory=list, validation_alias="CORS_ORIGINS")
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    api_keys: CommaSeparated = Field(
        default_factory=list,
        validation_alias="TWAP_API_KEYS",
        description="when set, every data endpoint needs one of these in X-API-Key",
    )
    rate_limit: str = Field(
        default="",
        validation_alias="TWAP_RATE_LIMIT",
        description="per API key (or client address without keys), e.g. '100/minute'; empty: off",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        validation_alias="TWAP_RATE_LIMIT_STORAGE",
        description="memory:// for one process, redis://host:port to share between processes",
    )

    @field_validator("database_url")
    @classmethod
    def _libpq(cls, url: str) -> str:
        return libpq_url(url)

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit like '100/minute': {value!r}") from exc
        return value.strip()


class ServerSettings(BaseSettings):
    """Where ``twap api`` listens."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field(default="127.0.0.1", validation_alias="API_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="API_PORT")
    workers: int = Field(default=1, ge=1, validation_alias="TWAP_API_WORKERS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
