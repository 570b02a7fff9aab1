"""One REST operation of the governance API, declared once: its name, method, path, who may call
it, and the pydantic models of what it takes and answers. Pure: the server routes, validates and
documents from these declarations, and the REST client finds its method and path in them.

Example:
    >>> from mlflow_registry_ext.api import OPERATIONS
    >>> op = OPERATIONS["webhooks_get"]
    >>> op.method, op.path, op.path_params
    ('GET', '/webhooks/<webhook_id>', ('webhook_id',))
"""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel, ConfigDict

__all__ = ["Operation", "Query", "Body", "NoBody", "Answer", "Error", "ACCESS_LEVELS"]

#: Who may call an operation when authentication is on (see ``server.access``):
#: ``user`` any authenticated user; ``read``/``update`` that permission on the registered model the
#: call is about; ``reviewer`` an authenticated user who may read the model (the policy then decides
#: whether they are an eligible reviewer); ``admin`` an MLflow admin.
ACCESS_LEVELS = ("user", "read", "update", "reviewer", "admin")


class Query(BaseModel):
    """Query parameters: strings converted by their field types; unknown ones are ignored, as
    MLflow's own REST API does."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Body(BaseModel):
    """Properties of a JSON request body: JSON types exactly as declared, nothing undeclared."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoBody(Body):
    """An empty JSON object (or no body at all)."""


class Answer(BaseModel):
    """A JSON answer: the declared properties, and any others the server adds."""

    model_config = ConfigDict(extra="allow")


@dataclasses.dataclass(frozen=True)
class Operation:
    """One REST operation.

    Attributes:
        name: Its operation id, what the REST client calls it by.
        method: The HTTP method.
        path: Its path under the API prefixes; path parameters use Flask syntax (``<webhook_id>``).
        summary: One line for the OpenAPI document.
        tag: The resource group it belongs to.
        access: One of :data:`ACCESS_LEVELS`.
        query: Its query parameters (``None``: it takes none).
        body: Its JSON request body (``None``: it takes none).
        response: The model of a successful JSON answer.
        ndjson: The answer is JSON Lines (one audit entry per line), not one JSON object.
        media: The media type of an answer that is a file, not JSON (e.g. ``application/zip``).
    """

    name: str
    method: str
    path: str
    summary: str
    tag: str
    access: str
    query: type[Query] | None = None
    body: type[Body] | None = None
    response: type[BaseModel] | None = None
    ndjson: bool = False
    media: str | None = None

    def __post_init__(self):
        if self.access not in ACCESS_LEVELS:
            raise ValueError(f"{self.name}: access must be one of {ACCESS_LEVELS}, got {self.access!r}")
        if self.response is None and not (self.ndjson or self.media):
            raise ValueError(f"{self.name}: a JSON answer needs a response model")

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of its path parameters, in order."""
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("<"))

    def fill(self, **params) -> str:
        """Its path with the path parameters filled in, URL-quoted.

        Example:
            >>> from mlflow_registry_ext.api import OPERATIONS
            >>> OPERATIONS["webhooks_get"].fill(webhook_id="a/b")
            '/webhooks/a%2Fb'
        """
        from urllib.parse import quote

        path = self.path
        for key, value in params.items():
            path = path.replace(f"<{key}>", quote(str(value), safe=""))
        return path


class Error(Answer):
    """Every refusal: MLflow's error JSON."""

    error_code: str
    message: str
