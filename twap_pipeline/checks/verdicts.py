"""A check's verdict on one day, and the report of one check over every day of a run, turned
into Dagster's check results (one result per check per run, naming the days that failed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckDefinition:
    """What a check guards against; ``warn_only`` checks never stop a load."""

    name: str
    description: str
    warn_only: bool = False

    def spec(self, asset: AssetKey) -> AssetCheckSpec:
        return AssetCheckSpec(
            self.name, asset=asset, description=self.description, blocking=not self.warn_only
        )

    def verdict(
        self,
        passed: bool,
        samples: list[dict[str, Any]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> Verdict:
        return Verdict(self.name, passed, samples or [], details or {}, not self.warn_only)


@dataclass
class Verdict:
    """One check's finding over one load (a day, or a refresh)."""

    check: str
    passed: bool
    samples: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    blocking: bool = True

    @property
    def blocks(self) -> bool:
        """Failed, and the load it judged must not commit."""
        return self.blocking and not self.passed

    def summary(self) -> str:
        shown = self.samples[:1] or self.details
        return f"{self.check}: {shown}"


def blocking_failures(verdicts: list[Verdict]) -> str:
    """The failed blocking checks among ``verdicts``, summed up; empty when none failed."""
    return "; ".join(v.summary() for v in verdicts if v.blocks)


def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sample rows for JSON metadata: numbers, booleans and lists kept, other values as text."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value if isinstance(value, int | bool | None) else str(value)

    return [{k: plain(v) for k, v in row.items()} for row in rows]


def check_result(
    asset: AssetKey, check: CheckDefinition, by_day: dict[date, Verdict]
) -> AssetCheckResult:
    """One result for the whole run: passed when every day passed; the metadata names each
    failing day, shows the first failing day's samples and counts, and the days checked."""
    failing = {d: v for d, v in sorted(by_day.items()) if not v.passed}
    first = next(iter(failing.values()), None)
    metadata: dict[str, Any] = {
        "failing_partitions": MetadataValue.json([d.isoformat() for d in failing]),
        "partitions_checked": len(by_day),
    }
    if first is not None:
        metadata.update(first.details)
        metadata["details_by_partition"] = MetadataValue.json(
            {d.isoformat(): jsonable([v.details])[0] for d, v in failing.items()}
        )
        if first.samples:
            metadata["sample_rows"] = MetadataValue.json(first.samples[:SAMPLE_ROWS])
    elif by_day:
        merged: dict[str, Any] = {}
        for verdict in by_day.values():
            for name, value in verdict.details.items():
                merged[name] = merged.get(name, 0) + value if isinstance(value, int) else value
        metadata.update(merged)
    return AssetCheckResult(
        asset_key=asset,
        check_name=check.name,
        passed=not failing,
        severity=AssetCheckSeverity.WARN if check.warn_only else AssetCheckSeverity.ERROR,
        metadata=metadata,
    )
