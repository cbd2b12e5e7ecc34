"""What every reader returns, and the one error it raises for input that breaks the contract."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


class ParseError(ValueError):
    """A source file that does not follow the data contract: names the file (its object key),
    the column when one is at fault, and what was wrong."""

    def __init__(self, file: str, column: str | None, problem: str):
        self.file, self.column, self.problem = file, column, problem
        where = f"column '{column}': " if column else ""
        super().__init__(f"{file}: {where}{problem}")


@dataclass
class FileRows:
    """One file's rows in the table's columns, and what the run's metadata should say about
    the file: columns it has that nobody knows (kept in ``raw``), and optional columns it lacks
    (loaded as NULL)."""

    rows: pl.DataFrame
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
