"""Where banditlab looks for data files it does not ship (one lookup for every loader).

Some environments are built from public data sets whose licences forbid redistribution, so the
files are never part of the package. A loader asks :func:`find_dataset` for the folder of its
data set, which is searched in this order:

1. the folder passed explicitly (a loader's ``path=``, ``banditlab reproduce ... --data DIR``):
   either the data set's own folder or a data folder holding it; when given, nothing else is
   searched;
2. ``$BANDITLAB_DATA``, a data folder;
3. the per-user data folder :func:`user_data_dir`: ``$XDG_DATA_HOME/banditlab`` (default
   ``~/.local/share/banditlab``) on Linux and other Unix systems,
   ``~/Library/Application Support/banditlab`` on macOS, ``%LOCALAPPDATA%\\banditlab`` on
   Windows.

A *data folder* holds one subfolder per data set, named as in :data:`DATASETS`:

==================  =====================================  =================================
data set            subfolder (any of)                     files
==================  =====================================  =================================
``movielens-100k``  ``movielens-100k/`` or ``ml-100k/``    ``u.data`` (or ``u.data.gz``),
                    (the folder of GroupLens's zip file)   ``u.item`` (or ``u.item.gz``)
==================  =====================================  =================================

When the files are in none of these folders, :class:`~banditlab.errors.DataNotFoundError` (a
``FileNotFoundError``) says in one line which folders were searched and how to provide them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from banditlab.errors import DataNotFoundError

__all__ = ["DATASETS", "DATA_ENV_VAR", "DataSet", "data_folders", "find_dataset",
           "user_data_dir"]

#: Environment variable naming a data folder.
DATA_ENV_VAR = "BANDITLAB_DATA"


@dataclass(frozen=True)
class DataSet:
    """A data set banditlab can read but does not ship.

    Attributes
    ----------
    title : str
        Name shown in messages, e.g. ``'MovieLens 100K'``.
    folders : tuple of str
        Names of its subfolder inside a data folder, in the order tried.
    files : tuple of tuple of str
        The files it needs: each entry lists the accepted names of one file.
    source : str
        Where to download it.
    """

    title: str
    folders: tuple[str, ...]
    files: tuple[tuple[str, ...], ...]
    source: str

    def holds(self, folder: Path) -> bool:
        """Whether ``folder`` has every needed file (under one of its accepted names)."""
        return folder.is_dir() and all(any((folder / name).is_file() for name in names)
                                       for names in self.files)

    def describe_files(self) -> str:
        """The needed files for messages, e.g. ``'u.data or u.data.gz and u.item'``."""
        return " and ".join(" or ".join(names) for names in self.files)


#: The data sets the loaders read, by key.
DATASETS: dict[str, DataSet] = {
    "movielens-100k": DataSet(
        title="MovieLens 100K", folders=("movielens-100k", "ml-100k"),
        files=(("u.data", "u.data.gz"), ("u.item", "u.item.gz")),
        source="https://grouplens.org/datasets/movielens/100k/"),
}


def user_data_dir() -> Path | None:
    """The per-user data folder of this platform, or None when the home folder is unknown.

    ``%LOCALAPPDATA%\\banditlab`` on Windows, ``~/Library/Application Support/banditlab`` on
    macOS, else ``$XDG_DATA_HOME/banditlab`` (``~/.local/share/banditlab`` when the variable is
    unset or not an absolute path). The folder need not exist.
    """
    try:
        home = Path.home()
    except RuntimeError:
        home = None
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        if local:
            return Path(local) / "banditlab"
        return None if home is None else home / "AppData" / "Local" / "banditlab"
    if sys.platform == "darwin":
        return None if home is None else home / "Library" / "Application Support" / "banditlab"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "banditlab"
    return None if home is None else home / ".local" / "share" / "banditlab"


def data_folders() -> list[tuple[Path, str]]:
    """The data folders searched when none is given: ``(folder, where it came from)`` pairs.

    ``$BANDITLAB_DATA`` first (when set and not empty), then :func:`user_data_dir`.
    """
    found = []
    env = os.environ.get(DATA_ENV_VAR, "")
    if env:
        found.append((Path(env).expanduser(), f"${DATA_ENV_VAR}"))
    user = user_data_dir()
    if user is not None:
        found.append((user, "per-user data folder"))
    return found


def find_dataset(key: str, path: str | os.PathLike[str] | None = None, *, owner: str,
                 param: str = "path") -> Path:
    """The folder holding the files of data set ``key`` (see the module docstring).

    Parameters
    ----------
    key : str
        A key of :data:`DATASETS`.
    path : str or PathLike, optional
        A folder given by the caller: the data set's folder itself, or a data folder holding
        it. When given, only this folder is searched.
    owner, param : str
        The function and the parameter named in messages.

    Raises
    ------
    DataNotFoundError
        When no searched folder has the files; a one-line message naming them all and how to
        provide the data.
    TypeError
        When ``path`` is neither None, a str nor a PathLike.
    """
    if key not in DATASETS:
        valid = ", ".join(repr(k) for k in DATASETS)
        raise ValueError(f"{owner}: 'key' must be one of {valid}; got {key!r}.")
    spec = DATASETS[key]
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"{owner}: '{param}' must be a str or Path to a folder holding "
                        f"{spec.title}, or None; got {type(path).__name__} {path!r}.")
    if path is not None:
        root = Path(path).expanduser()
        searched = [([root] + [root / name for name in spec.folders], f"'{param}'")]
    else:
        searched = [([root / name for name in spec.folders], where)
                    for root, where in data_folders()]
    for candidates, _ in searched:
        for folder in candidates:
            if spec.holds(folder):
                return folder
    looked = "; ".join(f"{', '.join(repr(str(c)) for c in candidates)} ({where})"
                       for candidates, where in searched) or "no folder"
    user = user_data_dir()
    in_user = "" if user is None else f" or in {str(user)!r}"
    raise DataNotFoundError(
        f"{owner}: {spec.title} ({spec.describe_files()}) not found; looked in {looked}. "
        f"Get it from {spec.source} and pass its folder as '{param}' (command line: --data DIR), "
        f"or put it as {' or '.join(f'{name}/' for name in spec.folders)} in "
        f"${DATA_ENV_VAR}{in_user}.")
