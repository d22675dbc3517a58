"""Coherent shop data as plain values: products, profile vocabulary, coupon and referral codes.

The accepted codes and their discounts mirror the reference server's built-in rule set exactly, so a
journey can predict ``session.discounts``. Nothing here draws random values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ACCEPTED_COUPONS",
    "ACCEPTED_REFERRALS",
    "CATEGORIES",
    "CITIES",
    "COUNTRIES",
    "DISCOUNTS",
    "EMAIL_DOMAINS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "PRODUCTS",
    "PROFILE_ATTRIBUTE_NAMES",
    "REJECTED_COUPONS",
    "REJECTED_REFERRALS",
    "SESSION_ATTRIBUTE_NAMES",
    "Product",
]


@dataclass(frozen=True)
class Product:
    """One catalogue entry; ``price`` is the unit price, dimensions in mm, weight in grams."""

    sku: str
    name: str
    category: str
    price: float
    weight: float
    height: float
    width: float
    length: float


def _p(sku: str, name: str, category: str, price: float, dims: tuple[float, float, float, float]) -> Product:
    return Product(sku, name, category, price, *dims)


PRODUCTS: tuple[Product, ...] = (
    _p("SHOE-RUN-001", "Trail running shoe", "shoes", 119.95, (780.0, 120.0, 110.0, 300.0)),
    _p("SHOE-RUN-002", "Road running shoe", "shoes", 99.0, (650.0, 110.0, 105.0, 295.0)),
    _p("SHOE-CAS-003", "Canvas sneaker", "shoes", 49.5, (540.0, 100.0, 100.0, 290.0)),
    _p("SHOE-BOO-004", "Leather hiking boot", "shoes", 189.0, (1400.0, 180.0, 120.0, 310.0)),
    _p("SHOE-SAN-005", "Beach sandal", "shoes", 19.99, (220.0, 40.0, 100.0, 270.0)),
    _p("TSHIRT-BAS-010", "Basic cotton T-shirt", "apparel", 12.9, (150.0, 10.0, 250.0, 300.0)),
    _p("TSHIRT-PRI-011", "Printed T-shirt", "apparel", 24.9, (160.0, 10.0, 250.0, 300.0)),
    _p("HOOD-ZIP-012", "Zip hoodie", "apparel", 59.0, (600.0, 40.0, 300.0, 350.0)),
    _p("JACK-RAIN-013", "Rain jacket", "apparel", 129.0, (450.0, 50.0, 300.0, 380.0)),
    _p("PANT-CHI-014", "Chino trousers", "apparel", 69.95, (500.0, 30.0, 280.0, 400.0)),
    _p("SOCK-3PK-015", "Sport socks 3-pack", "apparel", 9.99, (120.0, 30.0, 100.0, 200.0)),
    _p("CAP-BAS-016", "Baseball cap", "accessories", 17.5, (90.0, 120.0, 200.0, 250.0)),
    _p("BAG-DAY-017", "Daypack 20L", "accessories", 79.0, (700.0, 480.0, 300.0, 180.0)),
    _p("BAG-TOT-018", "Canvas tote bag", "accessories", 14.0, (200.0, 5.0, 380.0, 420.0)),
    _p("WATCH-SPT-019", "Sports watch", "electronics", 249.0, (60.0, 15.0, 45.0, 45.0)),
    _p("EARB-WLS-020", "Wireless earbuds", "electronics", 89.99, (55.0, 30.0, 60.0, 60.0)),
    _p("LAMP-HEAD-021", "Head lamp", "outdoor", 34.9, (95.0, 40.0, 60.0, 70.0)),
    _p("TENT-2P-022", "Two-person tent", "outdoor", 299.0, (2300.0, 150.0, 150.0, 450.0)),
    _p("SLEEP-BAG-023", "Sleeping bag -5C", "outdoor", 149.0, (1600.0, 250.0, 250.0, 450.0)),
    _p("BOTL-STE-024", "Steel water bottle 750ml", "outdoor", 24.0, (330.0, 260.0, 75.0, 75.0)),
    _p("STOVE-GAS-025", "Camping gas stove", "outdoor", 44.5, (340.0, 90.0, 110.0, 110.0)),
    _p("MAT-YOGA-026", "Yoga mat", "fitness", 29.0, (1100.0, 610.0, 120.0, 120.0)),
    _p("DUMB-5KG-027", "Dumbbell 5 kg", "fitness", 22.0, (5000.0, 100.0, 100.0, 280.0)),
    _p("BAND-RES-028", "Resistance band set", "fitness", 18.5, (400.0, 50.0, 150.0, 200.0)),
    _p("ROPE-JMP-029", "Jump rope", "fitness", 11.0, (250.0, 40.0, 120.0, 160.0)),
    _p("BIKE-HLM-030", "Bike helmet", "cycling", 64.0, (300.0, 170.0, 210.0, 270.0)),
    _p("BIKE-LGT-031", "Bike light set", "cycling", 27.9, (180.0, 50.0, 90.0, 140.0)),
    _p("BIKE-LCK-032", "U-lock", "cycling", 39.0, (1100.0, 60.0, 170.0, 250.0)),
    _p("BIKE-TUB-033", "Inner tube 28in", "cycling", 6.5, (120.0, 30.0, 70.0, 100.0)),
    _p("BOOK-RUN-040", "Marathon training guide", "books", 21.0, (420.0, 25.0, 150.0, 230.0)),
    _p("BOOK-HIK-041", "Alpine hiking atlas", "books", 32.0, (800.0, 30.0, 210.0, 300.0)),
    _p("GIFT-CRD-050", "Gift card", "gift-cards", 50.0, (5.0, 1.0, 54.0, 86.0)),
    _p("GIFT-CRD-051", "Gift card", "gift-cards", 100.0, (5.0, 1.0, 54.0, 86.0)),
    _p("SNACK-BAR-060", "Protein bar", "food", 2.49, (60.0, 15.0, 40.0, 140.0)),
    _p("SNACK-GEL-061", "Energy gel", "food", 1.99, (40.0, 10.0, 50.0, 110.0)),
    _p("DRINK-ISO-062", "Isotonic drink powder", "food", 15.9, (500.0, 160.0, 110.0, 110.0)),
    _p("CARE-SUN-070", "Sunscreen SPF50", "care", 13.49, (220.0, 160.0, 55.0, 40.0)),
    _p("CARE-BLM-071", "Lip balm", "care", 3.2, (10.0, 70.0, 18.0, 18.0)),
    _p("SALE-MYS-080", "Mystery box", "sale", 0.0, (1000.0, 200.0, 300.0, 300.0)),
    _p("SALE-RET-081", "Returned-item credit", "sale", -15.0, (0.0, 0.0, 0.0, 0.0)),
)

CATEGORIES: tuple[str, ...] = tuple(sorted({p.category for p in PRODUCTS}))

FIRST_NAMES: tuple[str, ...] = (
    "Alice",
    "Bob",
    "Chloé",
    "Dmitri",
    "Émile",
    "Fatima",
    "Grzegorz",
    "Hana",
    "Ingrid",
    "José",
    "Kwame",
    "Léa",
    "Mohammed",
    "Nguyễn",
    "Olga",
    "Priya",
    "Søren",
    "Takeshi",
    "Zoë",
    "李",
)
LAST_NAMES: tuple[str, ...] = (
    "Anderson",
    "Brown",
    "Da Silva",
    "Dubois",
    "García",
    "Jensen",
    "Kowalski",
    "Müller",
    "O'Brien",
    "Rossi",
    "Schmidt",
    "Smith",
    "Tanaka",
    "van der Berg",
    "Wang",
    "Øster",
)
CITIES: tuple[str, ...] = (
    "Berlin",
    "München",
    "Köln",
    "Copenhagen",
    "Amsterdam",
    "Paris",
    "London",
    "New York",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Tokyo",
    "Málaga",
    "Reykjavík",
)
COUNTRIES: tuple[str, ...] = ("DE", "DK", "NL", "FR", "GB", "US", "BR", "CH", "PL", "JP", "ES", "IS")
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "mail.example.net", "shop.example")

#: Attribute names real integrations send (talon-v1-facts.md 1.13), by entity.
PROFILE_ATTRIBUTE_NAMES: tuple[str, ...] = (
    "Name",
    "Email",
    "BirthDate",
    "BillingAddress1",
    "BillingCity",
    "BillingPostalCode",
    "BillingCountry",
    "ShippingCity",
    "Newsletter",
    "LoyaltyTier",
    "SignupDate",
)
SESSION_ATTRIBUTE_NAMES: tuple[str, ...] = ("ShippingCost", "ShippingMethod", "Channel", "GiftWrap")

#: Codes the reference server's default rule set knows (D11), and their (label, amount).
ACCEPTED_COUPONS: tuple[str, ...] = ("SUMMER10", "WELCOME5", "VIP25")
ACCEPTED_REFERRALS: tuple[str, ...] = ("FRIEND-ALICE", "FRIEND-BOB")
#: Codes the default rule set does NOT know: the server answers 200 with a reject effect.
REJECTED_COUPONS: tuple[str, ...] = ("WINTER99", "EXPIRED-2017", "summer10", "FREESHIP", "VIP-25")
REJECTED_REFERRALS: tuple[str, ...] = ("FRIEND-MALLORY", "friend-alice", "REF-000")

DISCOUNTS: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "SUMMER10": ("Summer sale", 10.0),
        "WELCOME5": ("Welcome discount", 5.0),
        "VIP25": ("VIP discount", 25.0),
        "FRIEND-ALICE": ("Referral bonus", 7.5),
        "FRIEND-BOB": ("Referral bonus", 7.5),
    }
)
