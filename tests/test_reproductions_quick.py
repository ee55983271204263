"""Every paper reproduction runs end to end in quick mode and writes what it promises.

These are the commands users run (`banditlab reproduce NAME`); each takes seconds to about a
minute here, so they run in CI (marked ``slow``). The claims each reproduction checks about its
paper are asserted where the reproduction writes them as data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from banditlab.reproduce import list_reproductions

NAMES = sorted(n for n in list_reproductions() if n != "baselines")  # baselines: own test


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_quick_reproduction_writes_tables_and_plots(name: str, tmp_path: Path) -> None:
    rep = list_reproductions()[name]
    paths = [Path(p) for p in rep.run(tmp_path, full=False, seed=0, n_jobs=1)]
    assert paths and all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert all(tmp_path in p.parents for p in paths)
    suffixes = {p.suffix for p in paths}
    assert {".csv", ".parquet", ".png"} <= suffixes, suffixes
    for csv in (p for p in paths if p.suffix == ".csv"):
        frame = pd.read_csv(csv)
        assert len(frame) > 0, csv
        parquet = csv.with_suffix(".parquet")
        if parquet in paths:  # the two formats hold the same table
            pd.testing.assert_frame_equal(pd.read_parquet(parquet).reset_index(drop=True),
                                          frame, check_dtype=False, check_exact=False)
    checks = [p for p in paths if p.name.endswith("_checks.csv")]
    for path in checks:  # qualitative claims of the paper, evaluated by the reproduction
        frame = pd.read_csv(path)
        failed = frame[~frame["holds"].astype(bool)]
        assert failed.empty, failed.to_string()


def test_bcd_reproduction_lattice_red_black_option(tmp_path: Path) -> None:
    """Fig. 6 on the lattice D uses the checkerboard by default; 'greedy' selects the general
    colouring; anything else is rejected before any work."""
    import inspect

    run = list_reproductions()["bcd"].run
    assert inspect.signature(run).parameters["lattice_red_black"].default == "checkerboard"
    with pytest.raises(ValueError, match=r"'lattice_red_black' must be one of 'checkerboard', "
                                         r"'greedy'.*'bogus'"):
        run(tmp_path, lattice_red_black="bogus")
    assert not any(tmp_path.iterdir())
