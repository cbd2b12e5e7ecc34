"""The API's settings, read from the environment once (``get_settings``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from twap_pipeline.db.urls import libpq_url


class Settings(BaseSettings):
    """``DATABASE_URL`` is required (any PostgreSQL URL form); the pool has defaults."""

    model_config = SettingsConfigDict(env_prefix="TWAP_API_", extra="ignore")

    database_url: str = Field(
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="PostgreSQL holding twap_status (read access is enough)",
    )
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("TWAP_API_POOL_TIMEOUT", "pool_timeout_seconds"),
    )
    health_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        validation_alias=AliasChoices("TWAP_API_HEALTH_TIMEOUT", "health_timeout_seconds"),
    )

    @field_validator("database_url")
    @classmethod
    def _libpq(cls, url: str) -> str:
        return libpq_url(url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
