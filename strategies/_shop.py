"""Plain-``random`` shop data (no Hypothesis), shared by journeys and Locust's hot path."""

from __future__ import annotations

import random
from typing import Any

from talon_harness.strategies.catalogue import (
    CITIES,
    COUNTRIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    Product,
)

__all__ = ["cart_item_for", "cart_total", "email_local_part", "random_cart", "random_profile_attributes"]


def cart_item_for(product: Product, quantity: int) -> dict[str, Any]:
    """The CartItem an integration sends for *quantity* units of *product*."""
    return {
        "name": product.name,
        "sku": product.sku,
        "quantity": quantity,
        "price": product.price,
        "category": product.category,
        "weight": product.weight,
        "height": product.height,
        "width": product.width,
        "length": product.length,
    }


def random_cart(rng: random.Random, *, min_items: int = 1, max_items: int = 20) -> list[dict[str, Any]]:
    """A cart of distinct catalogue products, each with quantity 1-3."""
    count = rng.randint(min_items, max_items)
    return [cart_item_for(p, rng.randint(1, 3)) for p in rng.sample(PRODUCTS, count)]


def cart_total(cart: list[dict[str, Any]]) -> float:
    """Sum of price x quantity, rounded to cents (what a shop would send as ``total``)."""
    return round(sum(item["price"] * item["quantity"] for item in cart), 2)


def email_local_part(first: str, last: str) -> str:
    """The e-mail local part a shop derives from a name: ``first.last``, lower case, no spaces or quotes."""
    return f"{first}.{last}".lower().replace(" ", "").replace("'", "")


def random_profile_attributes(rng: random.Random) -> dict[str, Any]:
    """Name, Email, BirthDate and billing data, mutually consistent."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = email_local_part(first, last)
    return {
        "Name": f"{first} {last}",
        "Email": f"{local}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}",
        "BirthDate": f"{rng.randint(1940, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z",
        "BillingCity": rng.choice(CITIES),
        "BillingCountry": rng.choice(COUNTRIES),
        "Newsletter": rng.random() < 0.5,
    }
