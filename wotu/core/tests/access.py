"""Route × persona access tables, shared by the apps' ``test_access`` modules.

A table maps a route to one expected answer per persona, in the order of the module's persona
list: an HTTP status, or :data:`SIGN_IN` for "sent to the sign-in page (302 to /login/?next=…)".
A persona is the name of a pytest fixture that makes that user (password ``PASSWORD``);
``"anonymous"`` is nobody signed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

SIGN_IN = "login"
ANONYMOUS = "anonymous"


def access_cases(
    *, personas: Sequence[str], table: Mapping[str, Sequence[Any]]
) -> list[tuple[str, str, Any]]:
    """Every (route, persona, expected) cell of ``table``, row by row; a row must give exactly
    one answer per persona (ValueError otherwise)."""
    return [
        (route, persona, expected)
        for route, row in table.items()
        for persona, expected in zip(personas, row, strict=True)
    ]


def persona_client(*, request: pytest.FixtureRequest, persona: str) -> Client:
    """A fresh client signed in as ``persona`` (its fixture makes the user if the test has not),
    or signed in as nobody for ``"anonymous"``."""
    client = Client()
    if persona != ANONYMOUS:
        user = request.getfixturevalue(persona)
        assert client.login(username=user.username, password=PASSWORD)
    return client


def route_answer(
    *, client: Client, method: str, url: str, data: dict[str, Any] | None = None
) -> TestResponse:
    """The response to a GET or a POST (with ``data``, none by default) of ``url``."""
    return client.post(url, data) if method == "post" else client.get(url)


def answer_assert(*, response: TestResponse, expected: Any) -> None:
    """The response is the expected status, or for :data:`SIGN_IN` a redirect to sign in that
    brings the visitor back afterwards."""
    if expected == SIGN_IN:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('login')}?next=")
    else:
        assert response.status_code == expected, response.content[:300]
