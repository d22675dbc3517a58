"""Where the locustfiles live on disk (for ``locust -f``) without importing them (importing locust patches)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOCUSTFILE", "PROJECT_ROOT", "SHAPEFILE"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SHAPEFILE = Path(__file__).with_name("shapefile.py")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
