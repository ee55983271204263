"""The notebooks are valid nbformat 4.5 files: every cell has an id (a missing id is a warning
today and, nbformat says, a hard error in later versions, which would break the notebook runs
of the test command)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_every_cell_has_an_id(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert (raw["nbformat"], raw["nbformat_minor"]) >= (4, 5)
    missing = [i for i, cell in enumerate(raw["cells"]) if "id" not in cell]
    assert not missing, f"{path.name}: cells without an id: {missing}"
    ids = [cell["id"] for cell in raw["cells"]]
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
