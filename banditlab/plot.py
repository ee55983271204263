"""Matplotlib helpers. Each returns the ``Axes`` it drew on; nothing is shown or saved here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from banditlab.results import Results

__all__ = ["plot_regret", "regret_curve", "style_regret_axes"]


def regret_curve(ax: Axes, t: np.ndarray, mean: np.ndarray, lo: np.ndarray | None,
                 hi: np.ndarray | None, *, label: str, log: bool) -> None:
    """Draw one mean regret curve with an optional ``[lo, hi]`` band (non-positive points are
    dropped on log axes, and the band is floored at the smallest positive mean). A result
    recorded at one checkpoint only (streaming, best policy identification) is a marker with
    the band as an error bar."""
    keep = (t > 0) & (mean > 0) if log else np.ones_like(t, dtype=bool)
    if t.shape[0] == 1:
        err = None
        if lo is not None and hi is not None:
            err = [[max(mean[0] - lo[0], 0.0)], [max(hi[0] - mean[0], 0.0)]]
        if keep.any():
            ax.errorbar(t, mean, yerr=err, fmt="o", capsize=4, label=label)
        return bool(keep.any())
    (line,) = ax.plot(t[keep], mean[keep], label=label)
    if lo is not None and hi is not None:
        if log:
            lo = np.maximum(lo, mean[keep].min() if keep.any() else 1e-12)
        ax.fill_between(t[keep], lo[keep], hi[keep], color=line.get_color(), alpha=0.2,
                        linewidth=0)
    return bool(keep.any())


def style_regret_axes(ax: Axes, *, log: bool, title: str | None, x_label: str = "round",
                      drawn: bool = True, y_label: str | None = None) -> None:
    """Axis scales, labels, title, legend and grid of a regret plot (x counts ``x_label``s).

    ``drawn=False`` (log axes asked for, but no curve has a positive point, e.g. every arm has
    the same mean so the regret is 0): linear axes and a note, instead of matplotlib's error.
    """
    if log and not drawn:
        ax.text(0.5, 0.5, "no positive regret to show on log axes", transform=ax.transAxes,
                ha="center", va="center", fontsize="small", color="0.4")
    elif log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("round t" if x_label == "round" else x_label)
    if y_label is None:
        y_label = "cumulative pseudo-regret" if x_label == "round" else "cumulative regret"
    ax.set_ylabel(y_label)
    if title is not None:
        ax.set_title(title)
        ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)


def plot_regret(results: Sequence[Results], ax: Axes | None = None, *, log: bool = False,
                band: tuple[float, float] | str | None = (0.1, 0.9),
                labels: Sequence[str] | None = None) -> Axes:
    """Mean cumulative regret vs rounds (or episodes) for several results, with bands.

    ``band`` is a pair of quantiles over runs, ``'ci95'`` (mean +- 1.96 sem) or None. The
    title names the env by its parameters (:attr:`Results.env_label`).
    """
    if isinstance(band, str) and band != "ci95":
        raise ValueError(f"plot_regret: 'band' must be a pair of quantiles, 'ci95' or None; "
                         f"got {band!r}.")
    from banditlab.systems import metric_label

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.2))
    drawn = []
    for i, res in enumerate(results):
        lo = hi = None
        if band == "ci95" and res.n_runs > 1:
            half = 1.96 * res.regret.std(axis=0, ddof=1) / np.sqrt(res.n_runs)
            lo, hi = res.mean_regret() - half, res.mean_regret() + half
        elif band is not None and not isinstance(band, str) and res.n_runs > 1:
            lo, hi = np.quantile(res.regret, band, axis=0)
        drawn.append(regret_curve(ax, res.checkpoints, res.mean_regret(), lo, hi,
                                  label=labels[i] if labels is not None else res.label, log=log))
    style_regret_axes(ax, log=log, title=results[0].env_label if results else None,
                      x_label=results[0].x_label if results else "round", drawn=any(drawn),
                      y_label=metric_label(results[0].protocol) if results else None)
    return ax
