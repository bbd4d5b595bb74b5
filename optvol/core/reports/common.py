"""
Pieces both reports share: number formatting, the data-sources table with what is
simulated and what is real, distribution and missing-value tables.

Every number goes through :func:`decimals`, :func:`thousands` or :func:`percent`, so a test can
compare a printed cell with the evaluation document at the printed precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from optvol.core.reports.document import Block, Paragraph, Table

NOT_AVAILABLE = "n/a"


def decimals(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals; "n/a" for None."""
    return NOT_AVAILABLE if value is None else f"{value:.{digits}f}"


def thousands(value: int | None) -> str:
    """An integer with thousands separators; "n/a" for None."""
    return NOT_AVAILABLE if value is None else f"{value:,}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0.25) as a percentage ("25.0%"); "n/a" for None."""
    return NOT_AVAILABLE if value is None else f"{100 * value:.{digits}f}%"


def date_range(first: str | None, last: str | None) -> str:
    return f"{first} to {last}" if first and last else NOT_AVAILABLE


def key_value_table(pairs: Sequence[tuple[str, str]], caption: str = "") -> Table:
    """A two-column table: setting and value."""
    return Table(("setting", "value"), tuple((k, v) for k, v in pairs), caption=caption)


def origin_sentence(sources: list[dict] | None, what: str) -> str | None:
    """A sentence on the data's origin for a summary: None when no input is simulated."""
    origins = {s.get("origin") for s in sources or ()}
    if "simulated" not in origins:
        return None
    if origins == {"simulated"}:
        return (
            f"The {what} is simulated (optvol's sample): these results show how the "
            "pipeline and the models behave, not how they would do on the market."
        )
    return f"Part of the {what} is simulated (optvol's sample); see Data."


def source_blocks(sources: list[dict] | None, what: str) -> list[Block]:
    """The input files of ``what`` (their format, rows, size and origin) and a sentence
    on which of them are simulated and which are real."""
    if not sources:
        return [
            Paragraph(
                f"The {what} table does not record its source files: it was written before "
                "optvol recorded them. Re-materialize it to have them here."
            )
        ]
    rows = tuple(
        (
            s["label"],
            s.get("format", NOT_AVAILABLE),
            thousands(s.get("input_rows")),
            thousands(s.get("compressed_bytes")),
            s.get("origin", NOT_AVAILABLE),
        )
        for s in sources
    )
    table = Table(
        ("file", "format", "input rows", "bytes", "origin"),
        rows,
        caption=f"Input files of the {what}",
        numeric=frozenset({"input rows", "bytes"}),
    )
    notes = [f"{s['label']}: {s.get('origin', 'unknown')} — {s.get('description', '')}."
             for s in sources]  # fmt: skip
    origins = {s.get("origin") for s in sources}
    if origins == {"simulated"}:
        verdict = (
            f"Every {what} input is simulated: the numbers below describe how the method "
            "behaves on synthetic data, not how it would do on the market."
        )
    elif "simulated" in origins:
        verdict = f"Some {what} inputs are simulated; read the results with that in mind."
    else:
        verdict = f"No {what} input is optvol's simulated sample."
    return [table, Paragraph(" ".join(notes)), Paragraph(verdict)]


def steps_table(steps: Sequence[tuple[str, int | None]], caption: str) -> Table:
    """Cleaning steps and the rows each concerns."""
    return Table(
        ("step", "rows"),
        tuple((step, thousands(n)) for step, n in steps),
        caption=caption,
        numeric=frozenset({"rows"}),
    )


def missing_values_blocks(missing: Mapping[str, int], rows: int, what: str) -> list[Block]:
    """The columns with missing values (count and share), and how many have none."""
    # Most missing first (a JSON round trip sorts the columns by name anyway).
    present = dict(
        sorted(((c, n) for c, n in missing.items() if n), key=lambda cn: (-cn[1], cn[0]))
    )
    complete = len(missing) - len(present)
    if not present:
        return [Paragraph(f"No column of the {what} has a missing value.")]
    table = Table(
        ("column", "missing", "share"),
        tuple(
            (c, thousands(n), percent(n / rows if rows else None, 2)) for c, n in present.items()
        ),
        caption=f"Missing values in the {what} ({complete} other columns have none)",
        numeric=frozenset({"missing", "share"}),
    )
    return [table]


def distribution_table(
    distributions: Mapping[str, Mapping[str, float | None]],
    statistics: Sequence[str],
    caption: str,
    digits: int = 4,
) -> Table:
    """One row per named distribution, one column per statistic (``rows`` as a count)."""
    body = []
    for name, stats in distributions.items():
        cells = [
            thousands(stats.get(s)) if s == "rows" else decimals(stats.get(s), digits)
            for s in statistics
        ]
        body.append((name, *cells))
    return Table(
        ("series", *statistics), tuple(body), caption=caption, numeric=frozenset(statistics)
    )
