"""Checks every daily load makes, whatever its table: the rows stored are the rows read, no two
share a key, each obeys the table's row rules, and a reload does not silently shrink a day."""

from __future__ import annotations

from datetime import date

import polars as pl

from twap_pipeline.checks.verdicts import SAMPLE_ROWS, CheckDefinition, Verdict, jsonable

ROWS_MATCH_SOURCE = CheckDefinition(
    "rows_match_source", "Rows loaded equal rows read from the source files, per partition."
)
NO_DAY_SHRINKS = CheckDefinition(
    "no_day_shrinks",
    "A reload keeps at least half of a day's stored rows (a re-published empty or truncated "
    "file would otherwise delete them); the run config allow_shrinking_days overrides it.",
)
# A reload may replace a day with fewer rows, but not with less than this share of them.
KEEP_AT_LEAST = 0.5


def rows_match_source(offered: int, stored: int) -> Verdict:
    """``stored`` is the row count PostgreSQL reported for the day's COPY (rows it kept)."""
    return ROWS_MATCH_SOURCE.verdict(
        stored == offered, details={"rows_in_files": offered, "rows_loaded": stored}
    )


def day_not_shrunk(
    day: date, stored_before: int, offered: int, allowed: bool, unit: str = "rows"
) -> Verdict:
    """``unit`` names the table's rows in the message (events, fills)."""
    passed = allowed or offered >= stored_before * KEEP_AT_LEAST
    details: dict[str, int | str] = {"rows_stored_before": stored_before, "rows_offered": offered}
    if not passed:
        details["message"] = (
            f"{day}: the files offer {offered} {unit} where {stored_before} are stored; "
            "reloading would delete most of the day (run with allow_shrinking_days to force)"
        )
    return NO_DAY_SHRINKS.verdict(passed, details=details)


def broken_rows(
    rows: pl.DataFrame, rules: dict[str, pl.Expr], sample_columns: list[str]
) -> pl.DataFrame:
    """The rows that break one of ``rules`` (problem -> expression true when a row breaks
    it), their ``sample_columns`` and the problems of each in ``problems``."""
    broken = rows.select(
        *sample_columns,
        problems=pl.concat_list(
            pl.when(rule).then(pl.lit(name)).otherwise(None) for name, rule in rules.items()
        ).list.drop_nulls(),
    )
    return broken.filter(pl.col("problems").list.len() > 0)


def rows_valid(check: CheckDefinition, invalid: pl.DataFrame, order_by: str) -> Verdict:
    samples = invalid.sort(order_by).head(SAMPLE_ROWS).to_dicts()
    return check.verdict(invalid.is_empty(), jsonable(samples), {"invalid_rows": invalid.height})


def unique_keys(
    check: CheckDefinition, rows: pl.DataFrame, key: list[str], conflict: str | None
) -> Verdict:
    """Duplicate keys within the day's rows; when there are none but PostgreSQL refused the
    COPY, ``conflict`` says which stored row of another day the load clashed with."""
    dupes = rows.filter(pl.struct(key).is_duplicated())
    if dupes.is_empty() and conflict is None:
        return check.verdict(True)
    if dupes.is_empty():
        return check.verdict(False, details={"conflict": conflict})
    samples = dupes.select(*key, "s3_object_key").head(SAMPLE_ROWS).to_dicts()
    return check.verdict(False, jsonable(samples), {"duplicate_rows": dupes.height})
