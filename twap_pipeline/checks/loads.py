"""Checks every daily load makes, whatever its table: the rows stored are the rows read, and a
reload does not silently shrink a day."""

from __future__ import annotations

from datetime import date

from twap_pipeline.checks.verdicts import CheckDefinition, Verdict

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
