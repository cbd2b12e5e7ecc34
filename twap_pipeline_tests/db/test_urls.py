"""DATABASE_URL in every form users copy reaches the same server."""

from __future__ import annotations

import psycopg
import pytest

from twap_pipeline.db.urls import DatabaseUrlError, libpq_url, sqlalchemy_url


@pytest.mark.parametrize(
    "scheme",
    [
        "postgresql",
        "postgres",
        "postgresql+psycopg",
        "postgresql+psycopg2",
        "postgresql+asyncpg",
    ],
)
def test_every_scheme_becomes_a_libpq_url(scheme):
    url = libpq_url(f"{scheme}://u:p%40ss@db.example:5433/twap?sslmode=require")
    assert url == "postgresql://u:p%40ss@db.example:5433/twap?sslmode=require"
    params = psycopg.conninfo.conninfo_to_dict(url)
    assert (params["user"], params["password"], params["host"], params["port"]) == (
        "u",
        "p@ss",
        "db.example",
        "5433",
    )


def test_asyncpg_ssl_parameter_is_libpq_sslmode():
    assert (
        libpq_url("postgresql+asyncpg://u@h/d?ssl=require") == "postgresql://u@h/d?sslmode=require"
    )


def test_keyword_strings_pass_unchanged():
    assert libpq_url("host=/tmp/pg dbname=twap user=postgres") == (
        "host=/tmp/pg dbname=twap user=postgres"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/d", "scheme 'mysql' is not PostgreSQL"),
        ("", "DATABASE_URL is empty"),
        ("not a url at all", "not a PostgreSQL URL"),
    ],
)
def test_other_urls_are_refused_with_what_to_do(url, message):
    with pytest.raises(DatabaseUrlError, match=message):
        libpq_url(url)


def test_sqlalchemy_url_keeps_socket_hosts_and_options():
    url = sqlalchemy_url("postgres://postgres@/twap?host=/run/pg&sslmode=disable", "psycopg2")
    assert url.drivername == "postgresql+psycopg2"
    assert (url.database, url.host, url.username) == ("twap", "/run/pg", "postgres")
    assert dict(url.query) == {"sslmode": "disable"}
