"""Variant b: bare FastAPI with a return-type annotation, the baseline.

FastAPI serializes the model straight to JSON bytes with pydantic-core.
"""

from __future__ import annotations

from fastapi import FastAPI
from model import PATH, PRODUCT, Product

app = FastAPI()


@app.get(PATH)
async def product() -> Product:
    return PRODUCT
