"""The payload every HTTP variant returns: one pydantic model of ten fields."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel


class Product(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price: float
    currency: str
    in_stock: bool
    quantity: int
    tags: list[str]
    updated_at: datetime


PRODUCT = Product(
    id=42,
    sku="SKU-0042",
    name="Ergonomic keyboard",
    description="A split keyboard with tented halves and hot-swappable switches.",
    price=149.9,
    currency="EUR",
    in_stock=True,
    quantity=17,
    tags=["keyboard", "ergonomic", "usb-c"],
    updated_at=datetime(2026, 11, 24, 12, 30, tzinfo=UTC),
)

# The route every variant serves; GET only.
PATH = "/bench/product"
