"""Exceptions and warnings raised by banditlab."""

from __future__ import annotations

__all__ = ["BanditlabError", "BanditlabWarning", "ConfigError", "DataNotFoundError",
           "IncompatibleEnvError", "StoreLockedError"]


class BanditlabError(Exception):
    """Base class of banditlab's own exceptions."""


class IncompatibleEnvError(BanditlabError, TypeError):
    """A policy and an environment (or an engine) that cannot work together.

    The message names both sides and what is missing, e.g.
    ``UCB: engine='kernel' needs an env with kernel_arrays(); MyEnv has none.``
    """


class ConfigError(BanditlabError, ValueError):
    """An invalid experiment configuration (TOML file or dict); names the field."""


class DataNotFoundError(BanditlabError, FileNotFoundError):
    """A data set's files are in none of the folders searched for them.

    The message is one line: the data set, the files it needs, every folder looked in and how
    to provide them (see :mod:`banditlab.data`).
    """


class StoreLockedError(BanditlabError, RuntimeError):
    """A sweep store that another driver is using (see :class:`banditlab.store.StoreLock`).

    The message is one line: the store, the process id and host of the driver holding it, and
    what to do, e.g. ``sweep: the store 'runs/s' is in use by process 4242 on host 'node1'
    (since 2024-05-01T10:00:00); wait for that sweep to end or stop it, then run again.``
    """


class BanditlabWarning(UserWarning):
    """Base class of banditlab's warnings."""
