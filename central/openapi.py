"""The OpenAPI document as the server really answers.

FastAPI documents a 422 answer of every route with parameters as its own `HTTPValidationError`, but
this server answers every error, 422 included, with an `ErrorResponse` (see `central.errors`). The
document is rewritten to say so, so a client generated from it (or a schema checker) parses what
it gets.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_REF_PREFIX = "#/components/schemas/"


def _fix_validation_answers(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if not answer:
                continue
            content = answer.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == _REF_PREFIX + "HTTPValidationError":
                answer["description"] = "Error"
                content["schema"] = {"$ref": _REF_PREFIX + "ErrorResponse"}
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = _fix_validation_answers(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
