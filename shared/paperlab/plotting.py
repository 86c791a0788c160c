"""One figure style for the whole collection: seaborn's whitegrid, small PNG figures at 100 dpi."""

from __future__ import annotations

import matplotlib

PALETTE = "colorblind"


def apply_style() -> None:
    """Apply the collection's figure style (called by ``experiment.setup``)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.figsize": (6.4, 4.0),
            "figure.autolayout": True,
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    )
    try:  # inline figures as PNG so committed notebooks stay small
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside IPython there is nothing to configure
        pass
