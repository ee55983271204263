#!/usr/bin/env bash
# Create the virtual environment in which the SMPyBandits peer runs, and install MABWiser.
#
# SMPyBandits 0.9.7 (the last release) does not import with SciPy >= 1.14 or NumPy >= 2, so it
# lives in its own venv (benchmarks/.venv-smpy) with pinned older versions; the benchmark calls
# it through benchmarks/peers/smpy_driver.py in a subprocess. MABWiser works with the project's
# own environment (it is in the `bench` extra), so it is installed there.
#
# Usage: bash benchmarks/peers/setup_peers.sh   (from the repository root or anywhere)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SMPY_VENV:-$here/../.venv-smpy}"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet \
    "SMPyBandits==0.9.7" "numpy<2" "scipy<1.14" "scikit-learn<1.6" "matplotlib<3.10"
"$venv/bin/python" -c "import SMPyBandits, numpy, scipy; print('SMPyBandits', SMPyBandits.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)"

# MABWiser in the project's environment (the interpreter that runs the benchmark).
"$py" -m pip install --quiet "mabwiser>=2.7"
"$py" -c "from importlib.metadata import version; print('MABWiser', version('mabwiser'))"
