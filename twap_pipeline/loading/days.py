"""Load a run's days into one table, each day in its own transaction.

For every day: take the writers' lock, delete the day's rows, COPY the rows of its files, run
the table's checks, and commit only if every blocking check passed. A failing day rolls back
alone and the next day goes on, so one corrupt file costs its day, never the others. A source
that cannot be read at all, or a database that stops answering, ends the run at once: the days
after it are reported as not attempted.

One thread downloads and parses the files of the next days while PostgreSQL ingests the current
one (at most ``AHEAD_DAYS`` days ahead, which bounds memory); another reads, on a connection of
its own, what the checks need from the rest of the table while COPY runs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import psycopg
from psycopg import sql

from twap_pipeline.checks.verdicts import Verdict, blocking_failures
from twap_pipeline.db.schema import WRITE_LOCK_KEY
from twap_pipeline.loading.files import LandedFile, PreparedDay, Reader, RowRules, prepare_day
from twap_pipeline.loading.listing import Listing
from twap_pipeline.resources.landing import LandingArea
from twap_pipeline.resources.postgres import PostgresResource
from twap_pipeline.resources.sources import ObjectSource, SourceUnavailableError

AHEAD_DAYS = 2
COPY_LINE = re.compile(r"COPY \w+, line (\d+)")


@dataclass
class DayEvidence:
    """What a day's checks judge, gathered inside its transaction."""

    day: date
    rows: pl.DataFrame
    invalid: pl.DataFrame
    stored_before: int
    stored: int
    conflict: str | None
    gathered: Any
    allow_shrinking: bool


@dataclass(frozen=True)
class Dataset:
    """What the day loader needs to know of one table."""

    table: str
    read: Reader
    row_rules: RowRules
    copy: sql.Composed
    delete_day: str
    judge: Callable[[DayEvidence], list[Verdict]]
    # Runs on a second connection while COPY runs: (connection, day, the day's rows) -> what
    # ``judge`` needs from the rest of the table.
    gather: Callable[[psycopg.Connection, date, pl.DataFrame], Any] | None = None
    # Columns whose distinct values the run reports (the rows themselves are not kept).
    distinct_columns: tuple[str, ...] = ()
    # Runs in the day's transaction once its checks pass: (connection, day, rows stored) ->
    # verdicts of checks that need the day written (a blocking failure still rolls it back).
    after_checks: Callable[[psycopg.Connection, date, int], list[Verdict]] | None = None


@dataclass
class DayOutcome:
    """What happened to one day."""

    day: date
    committed: bool = False
    failure: str | None = None
    files: list[LandedFile] = field(default_factory=list)
    rows_read: int = 0
    distinct: dict[str, pl.Series] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    stored_before: int = 0
    stored: int = 0
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RunOutcome:
    days: list[DayOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the run ended before its last day
    retryable: bool = False  # the database failed: the same run may succeed later
    not_attempted: list[date] = field(default_factory=list)

    @property
    def committed(self) -> list[date]:
        return [d.day for d in self.days if d.committed]

    @property
    def failed(self) -> list[DayOutcome]:
        return [d for d in self.days if not d.committed]


class _RejectDay(Exception):
    """Raised inside a day's transaction to roll it back."""


def _reject_if_blocked(outcome: DayOutcome) -> None:
    """Roll the day back when a blocking check failed, naming the failures."""
    failure = blocking_failures(outcome.verdicts)
    if failure:
        outcome.failure = failure
        raise _RejectDay


def _copy_failure(exc: psycopg.Error, rows: pl.DataFrame) -> str:
    """A COPY error mapped back to the file (and its row) that the failing line came from."""
    context = exc.diag.context or ""
    message = exc.diag.message_primary or str(exc)
    found = COPY_LINE.search(context)
    if found and 0 < int(found[1]) <= rows.height:
        line = int(found[1])
        key = rows["s3_object_key"][line - 1]
        row = line - int((rows["s3_object_key"].head(line) != key).sum())
        return f"{key} (row {row}): {message}"
    return f"COPY failed: {message} ({context})"


class DayLoader:
    """Loads the days of one run; see the module docstring."""

    def __init__(
        self,
        dataset: Dataset,
        source: ObjectSource,
        landing: LandingArea,
        postgres: PostgresResource,
        allow_shrinking: bool = False,
    ):
        self.dataset, self.source, self.landing, self.postgres = dataset, source, landing, postgres
        self.allow_shrinking = allow_shrinking
        self._stopping = threading.Event()

    def run(self, listing: Listing, on_day: Callable[[DayOutcome], None]) -> RunOutcome:
        """Load every day of ``listing`` in order, calling ``on_day`` after each."""
        outcome = RunOutcome()
        days = sorted(listing.by_day)
        with (
            ThreadPoolExecutor(1, "twap-parse") as parser,
            ThreadPoolExecutor(1, "twap-gather") as reader,
            self.postgres.connect(autocommit=True) as conn,
            self.postgres.connect(autocommit=True) as other,
        ):
            other.execute("SET jit = off")
            queued: dict[date, Future[PreparedDay]] = {}

            def queue_through(index: int) -> None:
                for day in days[: index + AHEAD_DAYS + 1]:
                    if day not in queued and listing.by_day[day]:
                        queued[day] = parser.submit(self._prepare, day, listing.by_day[day])

            for index, day in enumerate(days):
                queue_through(index)
                try:
                    if day in queued:
                        result = self._load_day(conn, reader, other, day, queued.pop(day))
                    else:
                        where = self.source.describe()
                        result = DayOutcome(day, failure=f"{day}: no objects under {where}")
                except SourceUnavailableError as exc:
                    self._stop(outcome, days, queued, f"{day}: {exc}", retryable=False)
                    break
                except psycopg.OperationalError as exc:
                    reason = f"{day}: {self.postgres.explain(exc)}"
                    self._stop(outcome, days, queued, reason, retryable=True)
                    break
                outcome.days.append(result)
                on_day(result)
        return outcome

    def _stop(
        self,
        outcome: RunOutcome,
        days: list[date],
        queued: dict[date, Future[PreparedDay]],
        reason: str,
        retryable: bool,
    ) -> None:
        """End the run at the first failure that no later day can escape: the files queued
        for later days are not downloaded."""
        self._stopping.set()
        for future in queued.values():
            future.cancel()
        outcome.stopped, outcome.retryable = reason, retryable
        done = {d.day for d in outcome.days}
        outcome.not_attempted = [d for d in days if d not in done]

    def _prepare(self, day: date, objects: list[Any]) -> PreparedDay:
        data = self.dataset
        prepared = prepare_day(
            self.source, self.landing, data.read, data.row_rules, day, objects, self._stopping
        )
        if prepared.rows.height:
            prepared.distinct = {c: prepared.rows[c].unique() for c in data.distinct_columns}
        return prepared

    def _load_day(
        self,
        conn: psycopg.Connection,
        reader: ThreadPoolExecutor,
        other: psycopg.Connection,
        day: date,
        future: Future[PreparedDay],
    ) -> DayOutcome:
        started = time.perf_counter()
        prepared = future.result()
        outcome = DayOutcome(
            day,
            failure=prepared.failure,
            files=prepared.files,
            rows_read=prepared.rows.height,
            distinct=prepared.distinct,
            unknown_columns=prepared.unknown_columns,
            missing_columns=prepared.missing_columns,
        )
        outcome.seconds["wait_for_files"] = time.perf_counter() - started
        if prepared.failure:
            return outcome
        try:
            with conn.transaction():
                self._write_and_judge(conn, reader, other, outcome, prepared)
            outcome.committed = True
        except _RejectDay:
            pass
        outcome.seconds["total"] = time.perf_counter() - started
        return outcome

    def _write_and_judge(
        self,
        conn: psycopg.Connection,
        reader: ThreadPoolExecutor,
        other: psycopg.Connection,
        outcome: DayOutcome,
        prepared: PreparedDay,
    ) -> None:
        data, day = self.dataset, outcome.day
        clock = time.perf_counter()
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
        # The checks aggregate the day: keep their hashes in memory and skip JIT compilation,
        # which costs more than it saves on these short queries.
        conn.execute("SET LOCAL work_mem = '128MB'")
        conn.execute("SET LOCAL jit = off")
        outcome.stored_before = conn.execute(data.delete_day, {"day": day}).rowcount
        rows = prepared.rows
        gathered: Future[Any] | None = None
        if data.gather is not None and rows.height:
            gathered = reader.submit(self._gather, other, day, rows)
        conflict = None
        try:
            with conn.cursor() as cur:
                with cur.copy(data.copy) as copy:
                    copy.write(prepared.csv)
                outcome.stored = cur.rowcount
        except psycopg.errors.UniqueViolation as exc:
            conflict = exc.diag.message_detail or str(exc)
        except psycopg.DataError as exc:
            outcome.failure = _copy_failure(exc, rows)
            raise _RejectDay from exc
        finally:
            prepared.csv = b""
        outcome.seconds["copy"] = time.perf_counter() - clock
        clock = time.perf_counter()
        evidence = DayEvidence(
            day=day,
            rows=rows,
            invalid=prepared.invalid,
            stored_before=outcome.stored_before,
            stored=outcome.stored,
            conflict=conflict,
            gathered=gathered.result() if gathered is not None else None,
            allow_shrinking=self.allow_shrinking,
        )
        outcome.verdicts = data.judge(evidence)
        outcome.seconds["checks"] = time.perf_counter() - clock
        _reject_if_blocked(outcome)
        if data.after_checks is not None:
            outcome.verdicts += data.after_checks(conn, day, outcome.stored)
            _reject_if_blocked(outcome)

    def _gather(self, other: psycopg.Connection, day: date, rows: pl.DataFrame) -> Any:
        assert self.dataset.gather is not None
        return self.dataset.gather(other, day, rows)
