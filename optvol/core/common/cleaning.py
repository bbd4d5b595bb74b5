"""What every cleaning step reports, whatever the table."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class CleaningReport:
    """Counts of the cleaning steps every table goes through: rows read, exact
    duplicates and rows that repeat a key with other values (both removed), rows kept.
    Each table's report adds the counts of its own steps; all of them go to the logs,
    the asset metadata and the evaluation documents."""

    rows_in: int = 0
    duplicate_rows: int = 0
    conflicting_duplicates: int = 0
    rows_out: int = 0

    def as_dict(self) -> dict:
        return asdict(self)
