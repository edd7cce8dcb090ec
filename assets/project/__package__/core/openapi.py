"""The OpenAPI document (`/openapi.json`) that client generators and API gateways read.

FastAPI writes it from the routes; `App` finishes it in two ways:

- Every error response refers to one `Problem` schema (`ValidationProblem` for 422), added
  once under `components/schemas`: generated clients get one problem class, not one per
  operation. Routes list the errors they can answer with `problem_responses`.
- JSON Lines responses are described the OpenAPI 3.1 way. FastAPI writes `itemSchema`, an
  OpenAPI 3.2 keyword, into a document it declares 3.1.0, which validators then reject;
  declaring 3.2.0 instead shuts out the client generators that read only 3.1. In 3.1 a
  sequential media type's `schema` describes the lines as an array (3.2 reads it the same
  way), and the item schema stays under `x-oai-itemSchema`, the OpenAPI Initiative's
  registered extension for documents older than 3.2.

Operation ids are the endpoint functions' names (`create_item`, `read_item`): unique in
this app, stable while the code is, and what client generators turn into method names
(`create_item`, `createItem`). Generators already group operations by tag, so a tag prefix
would only repeat itself (`ItemsApi.items_create_item`).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ..schemas import Problem, ValidationProblem
from .errors import PROBLEM_JSON, status_phrase

SCHEMAS = "#/components/schemas/"
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use: `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        },
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer"},
        },
    },
}


def operation_id(route: APIRoute) -> str:
    """The route's operation id: its endpoint function's name (see the module docstring)."""
    return route.name


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting `statuses` as problem+json, for `responses=`."""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    schema = {"$ref": SCHEMAS + model.__name__}
    media = {"schema": schema}
    response: dict[str, Any] = {
        "description": status_phrase(status),
        "content": {PROBLEM_JSON: media},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _problem_schemas() -> dict[str, Any]:
    """`Problem`, `ValidationProblem` and what they refer to, as component schemas."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Problem, "serialization"),
        (ValidationProblem, "serialization"),
    ]
    _, top = models_json_schema(models, ref_template=SCHEMAS + "{model}")
    schemas: dict[str, Any] = top["$defs"]
    return schemas


def _describe_item_streams(document: dict[str, Any]) -> None:
    for path in document["paths"].values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "itemSchema" in media:
                        item = media.pop("itemSchema")
                        media["schema"] = {"type": "array", "items": item}
                        media["x-oai-itemSchema"] = item


class App(FastAPI):
    """FastAPI with the document finished as the module docstring says."""

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()  # cached by FastAPI until the routes change
        components = document.setdefault("components", {})
        schemas = components.get("schemas", {})
        if Problem.__name__ not in schemas:  # not finished yet
            components["schemas"] = dict(sorted({**schemas, **_problem_schemas()}.items()))
            _describe_item_streams(document)
        return document
