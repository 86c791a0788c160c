"""Where the collection lives: the repository root, the papers, the build folder."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The folder holding ``papers/catalog.yaml``.

    ``PAPERLAB_ROOT`` wins; otherwise the first parent of the working directory that holds the
    catalog; otherwise the checkout this package was installed from (editable installs).
    """
    if os.environ.get("PAPERLAB_ROOT"):
        return Path(os.environ["PAPERLAB_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "papers" / "catalog.yaml").is_file():
            return folder
    installed = Path(__file__).resolve().parents[3]
    if (installed / "papers" / "catalog.yaml").is_file():
        return installed
    raise FileNotFoundError(
        "cannot find papers/catalog.yaml: run from the PaperLab checkout or set PAPERLAB_ROOT"
    )


def papers_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "papers"


def build_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "build"
