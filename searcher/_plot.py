"""A trend as a line chart (matplotlib, the optional ``vnsearch[plot]`` extra)."""

from __future__ import annotations

import os
from pathlib import Path

from corpus import InputError

from ._results import Trend

FORMATS = (".png", ".svg")


def save_trend_plot(trend: Trend, path: str | os.PathLike[str]) -> Path:
    """Draw each query's share of documents per period as a line; write PNG or SVG by suffix."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"cannot plot to {path}: the file name must end in .png or .svg")
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InputError("plotting needs matplotlib, which is not installed",
                         hint="Install it with: pip install 'vnsearch[plot]'") from exc
    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        for series in trend.series:
            periods = [p.period for p in series.points]
            ax.plot(periods, [100 * p.share for p in series.points], marker="o", label=series.query)
        ax.set_xlabel(trend.by)
        ax.set_ylabel("% of documents")
        ax.grid(True, alpha=0.3)
        if trend.series:
            ax.legend()
        n = len(trend.series[0].points) if trend.series else 0
        if n > 16:  # keep period labels readable
            for i, label in enumerate(ax.get_xticklabels()):
                label.set_visible(i % (n // 16 + 1) == 0)
        fig.autofmt_xdate()
        fig.tight_layout()
        try:
            fig.savefig(path)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return path
