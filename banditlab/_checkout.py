"""Make ``banditlab.envs``/``solvers``/``theory_checks`` importable from a source checkout.

The repository keeps ``envs/``, ``solvers/`` and ``theory_checks/`` beside the ``banditlab/``
folder and the installer maps them into ``banditlab.*`` (``[tool.setuptools.package-dir]``).
When the folder is imported straight from a checkout — for instance ``python -m ...`` in the
repository root, which puts the root on ``sys.path`` ahead of an installed copy — the same
mapping is made here by adding the repository root to the package's search path. An installed
package has its own ``banditlab/envs`` and an editable install maps it itself: both are left
alone. Imported first by ``banditlab/__init__.py``, before any kernel module.
"""

from __future__ import annotations

from pathlib import Path

import banditlab

__all__: list[str] = []

_here = Path(__file__).resolve().parent
_root = _here.parent
if (not (_here / "envs").is_dir() and (_root / "envs" / "__init__.py").is_file()
        and (_root / "pyproject.toml").is_file() and str(_root) not in banditlab.__path__):
    banditlab.__path__.append(str(_root))
