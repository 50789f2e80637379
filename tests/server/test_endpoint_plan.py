"""The endpoint plan: which signatures the short path serves, and which are left to FastAPI."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from gymhall import Session
from gymhall.server.endpoint_plan import EndpointParam, openapi_stub, plan_endpoint


class Body(BaseModel):
    text: str


class Other(BaseModel):
    n: int


async def served(request: Request, body: Body, response: Response, session: Session) -> None:
    """Served by gymhall."""


def test_a_signature_of_body_request_response_and_session_gets_a_plan() -> None:
    assert plan_endpoint(served) == (
        [
            ("request", EndpointParam.REQUEST),
            ("body", EndpointParam.BODY),
            ("response", EndpointParam.RESPONSE),
            ("session", EndpointParam.SESSION),
        ],
        Body,
    )


def test_no_parameters_is_a_plan_without_a_body() -> None:
    async def health() -> dict[str, str]:
        return {}

    assert plan_endpoint(health) == ([], None)


async def query(request: Request, limit: int = 3) -> None: ...


async def two_bodies(a: Body, b: Other) -> None: ...


async def star(*args: Any) -> None: ...


async def unannotated(body) -> None:  # type: ignore[no-untyped-def]
    ...


def test_signatures_only_fastapi_resolves_get_none() -> None:
    for endpoint in (query, two_bodies, star, unannotated):
        assert plan_endpoint(endpoint) is None, endpoint.__name__


def test_the_openapi_stub_keeps_name_and_docstring() -> None:
    stub = openapi_stub(served)
    assert stub.__name__ == "served" and stub.__doc__ == "Served by gymhall."
