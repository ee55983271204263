#!/usr/bin/env bash
# Install the committed tree (git HEAD) non-editably into benchmarks/.venv-cold, for the
# cold-start measurement of bench_bandits.py (--cold-python benchmarks/.venv-cold/bin/python).
#
# Why: the engine loops' Numba cache is stamped with every kernel source file, so in a checkout
# that is being edited (several people or agents at work) new processes keep recompiling and
# the "first run from the on-disk cache" cannot be measured there. A non-editable install is
# what a user has: its files do not change. The venv reuses this interpreter's packages
# (--system-site-packages) and installs only banditlab itself.
#
# Usage: bash benchmarks/peers/setup_cold_env.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(git -C "$here" rev-parse --show-toplevel)"
venv="${COLD_VENV:-$here/../.venv-cold}"
py="${PYTHON:-python3}"
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT

git -C "$repo" archive HEAD | tar -x -C "$src"
# pyproject.toml names README.md as the long description; a tree without one still installs
[ -f "$src/README.md" ] || touch "$src/README.md"
rm -rf "$venv"
"$py" -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --no-deps "$src"
(cd "$src/.." && "$venv/bin/python" -c "import banditlab; print('banditlab', banditlab.__version__, 'installed at', banditlab.__file__)")
