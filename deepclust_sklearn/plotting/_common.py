"""What the displays share: the optional matplotlib import and the grid of Axes."""

from __future__ import annotations

import numpy as np

_INSTALL_HINT = 'pip install "deepclust_sklearn[plot]"'


def _import_pyplot(owner: str):
    """Import ``matplotlib.pyplot`` or explain how to install matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs matplotlib to draw, and matplotlib could not be "
            f"imported ({exc}). Install it with `{_INSTALL_HINT}` "
            "(or `pip install matplotlib`)."
        ) from exc
    return plt


def _axes_grid(owner: str, ax, n_axes: int, n_rows: int, n_cols: int, figsize, expected: str):
    """The figure and ``n_axes`` Axes to draw into, as a flat object array.

    ``ax=None`` makes a constrained-layout figure of ``figsize`` with an
    ``n_rows`` by ``n_cols`` grid and removes the cells past ``n_axes``;
    otherwise ``ax`` must hold ``n_axes`` Axes (``expected`` says how many,
    in the error).
    """
    if ax is None:
        fig = _import_pyplot(owner).figure(figsize=figsize, layout="constrained")
        grid = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False), dtype=object).ravel()
        for extra in grid[n_axes:]:
            fig.delaxes(extra)
        return fig, grid[:n_axes]
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != n_axes:
        raise ValueError(f"ax must {expected}; got {axes.size} Axes.")
    return axes[0].figure, axes
