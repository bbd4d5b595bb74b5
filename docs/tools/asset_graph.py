"""Draw optvol's asset graph into docs/images/asset_graph.png for the README and the docs.

The assets, their groups and their dependency edges are read from the code location
itself (``optvol.definitions.load_definitions()``), so the picture follows the code:

    .venv/bin/python docs/tools/asset_graph.py [--out docs/images/asset_graph.png]

Each group is drawn as a row of boxes in dependency order, left to right; an edge is an
arrow from an upstream asset to the asset that reads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images" / "asset_graph.png"
COLOURS = {"options": "#dbe9f6", "volatility": "#fde5cf"}
EDGE_COLOURS = {"options": "#2b6cb0", "volatility": "#c05621"}


def asset_graph() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Each asset's group, and the (upstream, downstream) edges between assets."""
    from optvol.definitions import load_definitions

    graph = load_definitions().resolve_asset_graph()
    groups: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        groups[name] = node.group_name
        edges += [(parent.to_user_string(), name) for parent in node.parent_keys]
    return groups, [(a, b) for a, b in edges if a in groups]


def depth(name: str, edges: list[tuple[str, str]]) -> int:
    """The length of the longest chain of upstream assets."""
    parents = [a for a, b in edges if b == name]
    return 1 + max((depth(p, edges) for p in parents), default=-1)


def draw(groups: dict[str, str], edges: list[tuple[str, str]], out: Path) -> None:
    order = sorted(set(groups.values()))
    width, height, gap_x, gap_y = 4.1, 0.7, 0.8, 2.0
    position: dict[str, tuple[float, float]] = {}
    for row, group in enumerate(order):
        members = sorted(
            (n for n, g in groups.items() if g == group), key=lambda n: depth(n, edges)
        )
        for column, name in enumerate(members):
            position[name] = (column * (width + gap_x), -row * (height + gap_y))
    columns = max(sum(1 for g in groups.values() if g == group) for group in order)
    figure, axes = plt.subplots(figsize=(0.62 * columns * (width + gap_x), 1.0 + 1.75 * len(order)))
    for name, (x, y) in position.items():
        group = groups[name]
        axes.add_patch(
            FancyBboxPatch(
                (x, y),
                width,
                height,
                boxstyle="round,pad=0.05,rounding_size=0.12",
                facecolor=COLOURS.get(group, "#eeeeee"),
                edgecolor=EDGE_COLOURS.get(group, "#555555"),
                linewidth=1.5,
            )
        )
        axes.text(
            x + width / 2,
            y + height / 2,
            name,
            ha="center",
            va="center",
            fontsize=11,
            family="monospace",
        )
    for upstream, downstream in edges:
        (x0, y0), (x1, y1) = position[upstream], position[downstream]
        neighbours = y0 == y1 and abs(x1 - x0 - width - gap_x) < 1e-9
        if neighbours:  # side to side
            start, end, style = (
                (x0 + width + 0.06, y0 + height / 2),
                (x1 - 0.06, y1 + height / 2),
                "arc3,rad=0",
            )
        else:  # an edge that skips assets arcs over them, top to top
            start, end, style = (
                (x0 + width / 2, y0 + height + 0.08),
                (x1 + width / 2, y1 + height + 0.08),
                "arc3,rad=-0.25",
            )
        axes.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=16,
                linewidth=1.4,
                color=EDGE_COLOURS.get(groups[downstream], "#555555"),
                connectionstyle=style,
            )
        )
    for row, group in enumerate(order):
        y = -row * (height + gap_y) + height + 0.95
        axes.text(
            -0.05,
            y,
            f"group: {group}",
            ha="left",
            va="bottom",
            fontsize=12,
            weight="bold",
            color=EDGE_COLOURS.get(group, "#333333"),
        )
    axes.set_xlim(-0.3, columns * (width + gap_x) - gap_x + 0.3)
    axes.set_ylim(-(len(order) - 1) * (height + gap_y) - 0.35, height + 1.5)
    axes.set_aspect("equal")
    axes.axis("off")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120, bbox_inches="tight", facecolor="white")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"the PNG to write (default {OUT})")
    arguments = parser.parse_args()
    groups, edges = asset_graph()
    draw(groups, edges, arguments.out)
    print(f"{len(groups)} assets, {len(edges)} edges -> {arguments.out}")


if __name__ == "__main__":
    main()
