"""The checkout's ``banditlab/`` folder is importable on its own (envs/solvers mapped)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_source_tree_maps_envs_solvers_and_theory_checks() -> None:
    code = ("import banditlab, banditlab.envs, banditlab.solvers, banditlab.theory_checks as t;"
            "print(banditlab.__file__); print(banditlab.envs.__file__);"
            "print(banditlab.solvers.__file__); print(t.__file__)")
    # -c with cwd = repository root puts the checkout first on sys.path, ahead of any install
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    files = [Path(line).resolve() for line in out.stdout.split()]
    assert files == [ROOT / "banditlab" / "__init__.py", ROOT / "envs" / "__init__.py",
                     ROOT / "solvers" / "__init__.py", ROOT / "theory_checks" / "__init__.py"]
