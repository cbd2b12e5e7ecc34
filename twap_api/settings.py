"""The API's one settings object, read from the environment."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field


class Settings(BaseModel):
    """``DATABASE_URL`` is required; the pool settings have defaults."""

    database_url: str = Field(description="PostgreSQL holding twap_status (read access only)")
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_seconds: float = Field(default=5.0, gt=0)
    health_timeout_seconds: float = Field(default=2.0, gt=0)

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise RuntimeError("DATABASE_URL is not set: the API needs the twap database")
        env = {
            "pool_min_size": os.environ.get("TWAP_API_POOL_MIN_SIZE"),
            "pool_max_size": os.environ.get("TWAP_API_POOL_MAX_SIZE"),
            "pool_timeout_seconds": os.environ.get("TWAP_API_POOL_TIMEOUT"),
        }
        return cls(database_url=url, **{k: v for k, v in env.items() if v})
