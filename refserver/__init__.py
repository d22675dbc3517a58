"""talon-harness reference server: a raw ASGI app implementing the Talon.One Integration API v1 upserts
(PUT /v1/customer_profiles/{integrationId}, PUT /v1/customer_sessions/{customerSessionId}) on SQLite,
following contract decisions D1-D15.
"""

from __future__ import annotations

from .app import create_app
from .config import Rule, RuleSet, ServerConfig
from .process import ServerProcess
from .server import serve
from .store import Store

__all__ = ["Rule", "RuleSet", "ServerConfig", "ServerProcess", "Store", "create_app", "serve"]
