"""talon-harness: contract and load testing for the Talon.One Integration API v1 upserts.

Subpackages: ``strategies`` (Hypothesis strategies), ``contracts`` (the OpenAPI contract and domain checks),
``loadtests`` (Locust users, HDR latency, SLO gates), ``refserver`` (the reference server) and ``harness``
(the ``talon-harness`` command line). The repository keeps them as top-level folders; installed, they
live under this one name. This file lives in ``package/``, not in a folder named ``talon_harness``, so that
nothing in a clone can shadow the installed package for ``python -m talon_harness...`` (issue 25).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("talon-harness")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"
