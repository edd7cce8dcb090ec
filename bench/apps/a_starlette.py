"""Variant a: bare Starlette returning orjson bytes, the practical ceiling.

No validation and no middleware: the dict is built once, serialized per request.
"""

from __future__ import annotations

import orjson
from model import PATH, PRODUCT
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_PAYLOAD = PRODUCT.model_dump(mode="json")


async def product(request: Request) -> Response:
    return Response(orjson.dumps(_PAYLOAD), media_type="application/json")


app = Starlette(routes=[Route(PATH, product)])
