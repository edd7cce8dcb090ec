"""results.png: throughput and p99 per variant, medians with min-max bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt  # after the backend is chosen

_HIGHLIGHT = {
    "b": "#7f7f7f",
    "d": "#1f77b4",
    "d-no-origin": "#9ecae1",
    "d-no-access-line": "#c6dbef",
}
_OTHER = "#c7c7c7"


def _bars(
    ax: Any, labels: list[str], stats: list[dict[str, float]], colours: list[str], log: bool
) -> None:
    medians = [s["median"] for s in stats]
    errors = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
    ax.barh(labels, medians, xerr=errors, color=colours, capsize=3, log=log)
    for y, s in enumerate(stats):  # the value just past the error bar
        value = s["median"]
        ax.annotate(
            f" {value:,.0f}" if value >= 100 else f" {value:.1f}",
            (s["max"], y),
            va="center",
            fontsize=8,
        )
    top = max(s["max"] for s in stats)
    if log:  # room below the smallest bar and, on the right, for the labels
        ax.set_xlim(min(s["min"] for s in stats) / 3, top * 4)
    else:
        ax.set_xlim(0, top * 1.18)


def draw(results: dict[str, Any], path: Path) -> None:
    variants = results["http"]["variants"]
    labels = [v["label"] for v in variants]
    colours = [_HIGHLIGHT.get(v["key"], _OTHER) for v in variants]
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(12, 0.55 * len(variants) + 1.6), sharey=True
    )
    _bars(left, labels, [v["rps"] for v in variants], colours, log=False)
    left.set_xlabel("requests per second (higher is better)")
    # From a few ms (a) to hundreds (e): a linear axis would hide the differences a-d.
    _bars(right, labels, [v["p99_ms"] for v in variants], colours, log=True)
    right.set_xlabel("p99 latency, ms, log scale (lower is better)")
    left.invert_yaxis()  # a at the top, as in the table (shared axis: invert once)
    s = results["http"]["settings"]
    figure.suptitle(
        f"One uvicorn worker on 1 CPU, wrk {s['connections']} connections on the other; "
        f"median and min-max of {s['rounds']} round(s)",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
