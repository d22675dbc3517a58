"""Where the locustfiles live on disk (for ``locust -f``) without importing them (importing locust patches)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOCUSTFILE", "SHAPEFILE"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SHAPEFILE = Path(__file__).with_name("shapefile.py")
