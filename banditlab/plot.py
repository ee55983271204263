"""Matplotlib helpers. Each returns the ``Axes`` it drew on; nothing is shown or saved here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from banditlab.results import Results

__all__ = ["plot_regret"]


def plot_regret(results: Sequence[Results], ax: Axes | None = None, *, log: bool = False,
                band: tuple[float, float] | None = (0.1, 0.9),
                labels: Sequence[str] | None = None) -> Axes:
    """Mean cumulative pseudo-regret vs rounds for several results, with quantile bands."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, res in enumerate(results):
        t = res.checkpoints
        mean = res.mean_regret()
        keep = (t > 0) & (mean > 0) if log else np.ones_like(t, dtype=bool)
        label = labels[i] if labels is not None else res.label
        (line,) = ax.plot(t[keep], mean[keep], label=label)
        if band is not None and res.n_runs > 1:
            lo, hi = np.quantile(res.regret, band, axis=0)
            if log:
                lo = np.maximum(lo, mean[keep].min() if keep.any() else 1e-12)
            ax.fill_between(t[keep], lo[keep], hi[keep], color=line.get_color(), alpha=0.2,
                            linewidth=0)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("round t")
    ax.set_ylabel("cumulative pseudo-regret")
    if results:
        ax.set_title(results[0].env)
        ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return ax
