"""Server configuration: the rule set (D11) and the frozen `ServerConfig` (D2, D13, D14)."""

from __future__ import annotations

import json
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .faults import check_fault_names

__all__ = ["API_REVISIONS", "Rule", "RuleSet", "ServerConfig"]

#: The v1 revisions the server speaks (D16): the seed's (2018-02) and the final one (2021-02).
API_REVISIONS: tuple[str, ...] = ("v1", "v1-2021")


@dataclass(frozen=True)
class Rule:
    """One coupon or referral code: the campaign/ruleset it belongs to and the discount it grants."""

    campaignId: int
    rulesetId: int
    label: str
    amount: float

    @classmethod
    def from_json(cls, code: str, raw: Any) -> Rule:
        if not isinstance(raw, Mapping):
            raise ValueError(f"rule {code!r}: expected an object, got {raw!r}")  # noqa: TRY004 - bad file content
        try:
            return cls(
                campaignId=int(raw["campaignId"]),
                rulesetId=int(raw["rulesetId"]),
                label=str(raw["label"]),
                amount=float(raw["amount"]),
            )
        except KeyError as missing:
            raise ValueError(f"rule {code!r}: missing field {missing}") from None


def _frozen(rules: Mapping[str, Rule]) -> Mapping[str, Rule]:
    return MappingProxyType(dict(rules))


@dataclass(frozen=True)
class RuleSet:
    """Coupon and referral codes known to the server, each mapping code -> `Rule`.

    Example file (``RuleSet.from_file``)::

        {"coupons": {"SUMMER10": {"campaignId": 1, "rulesetId": 1, "label": "Summer sale", "amount": 10.0}},
         "referrals": {"FRIEND-ABC1": {"campaignId": 2, "rulesetId": 2, "label": "Referral bonus",
                                       "amount": 5.0}}}
    """

    coupons: Mapping[str, Rule] = field(default_factory=dict)
    referrals: Mapping[str, Rule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coupons", _frozen(self.coupons))
        object.__setattr__(self, "referrals", _frozen(self.referrals))

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.coupons.items())), tuple(sorted(self.referrals.items()))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return dict(self.coupons) == dict(other.coupons) and dict(self.referrals) == dict(other.referrals)

    @classmethod
    def default(cls) -> RuleSet:
        """The built-in rule set that strategies and load tests mirror (keep the codes in sync)."""
        return cls(
            coupons={
                "SUMMER10": Rule(1, 1, "Summer sale", 10.0),
                "WELCOME5": Rule(2, 2, "Welcome discount", 5.0),
                "VIP25": Rule(3, 3, "VIP discount", 25.0),
            },
            referrals={
                "FRIEND-ALICE": Rule(4, 4, "Referral bonus", 7.5),
                "FRIEND-BOB": Rule(4, 4, "Referral bonus", 7.5),
            },
        )

    @classmethod
    def from_json(cls, raw: Any) -> RuleSet:
        if not isinstance(raw, Mapping):
            raise ValueError(f"rule set: expected an object with 'coupons'/'referrals', got {raw!r}")  # noqa: TRY004
        unknown = set(raw) - {"coupons", "referrals"}
        if unknown:
            raise ValueError(f"rule set: unknown keys {sorted(unknown)}")
        parts: dict[str, dict[str, Rule]] = {}
        for kind in ("coupons", "referrals"):
            section = raw.get(kind) or {}
            if not isinstance(section, Mapping):
                raise ValueError(f"rule set: {kind!r} must be an object, got {section!r}")  # noqa: TRY004
            parts[kind] = {str(code): Rule.from_json(code, rule) for code, rule in section.items()}
        return cls(coupons=parts["coupons"], referrals=parts["referrals"])

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> RuleSet:
        """Load a rule set from a JSON file; raises ValueError naming the file on bad content."""
        with open(path, encoding="utf-8") as fh:
            try:
                raw = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"rule file {os.fspath(path)!r} is not valid JSON: {exc}") from None
        return cls.from_json(raw)


@dataclass(frozen=True)
class ServerConfig:
    """Everything the reference server needs besides its store. Keys never appear in the repr.

    api_key / hmac_key: both None means no auth (D2); if both are set, either scheme is accepted.
    hmac_key is 16 hex digits (the v1 application key). faults: names from `refserver.faults.FAULTS`
    (unknown names raise ValueError listing the valid ones). api: the v1 revision spoken, one of
    `API_REVISIONS` (D16); "v1", the seed's, is what `check`/`load` test and what in-process servers get
    unless told otherwise (`talon-harness serve` defaults to "v1-2021").
    """

    application_id: int = 1
    account_id: int = 1
    api_key: str | None = field(default=None, repr=False)
    hmac_key: str | None = field(default=None, repr=False)
    rules: RuleSet = field(default_factory=RuleSet.default)
    faults: frozenset[str] = frozenset()
    max_body_bytes: int = 1048576
    api: str = "v1"

    def __post_init__(self) -> None:
        if self.hmac_key is not None and (
            len(self.hmac_key) != 16 or any(c not in string.hexdigits for c in self.hmac_key)
        ):
            raise ValueError("hmac_key must be exactly 16 hex digits")
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key must not be empty")
        if self.application_id < 1 or self.account_id < 1:
            raise ValueError(f"application_id and account_id must be >= 1, got {self.application_id}, "
                             f"{self.account_id}")
        if self.api not in API_REVISIONS:
            raise ValueError(f"api must be one of {', '.join(API_REVISIONS)}, got {self.api!r}")
        if self.max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be >= 0, got {self.max_body_bytes}")
        object.__setattr__(self, "faults", check_fault_names(self.faults))  # ValueError lists valid names

    @property
    def late_v1(self) -> bool:
        """True when serving the final v1 revision (2021-02, D16)."""
        return self.api == "v1-2021"

    @property
    def auth_modes(self) -> tuple[str, ...]:
        """Configured auth schemes, e.g. ("api_key", "hmac"); empty means no auth."""
        return tuple(m for m, k in (("api_key", self.api_key), ("hmac", self.hmac_key)) if k is not None)
