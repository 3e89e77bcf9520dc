"""Chinese first: the interface is zh-Hans unless the user switched to English."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.django_db
def test_an_english_browser_still_gets_chinese_until_the_user_switches(client: Client) -> None:
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()


@pytest.mark.django_db
def test_the_language_switch_turns_the_interface_english(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})

    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.headers["Content-Language"] == "en"
    assert "Sign in" in response.content.decode() or "Log in" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_language_cookie_falls_back_to_chinese(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = client.get("/login/")

    assert response.headers["Content-Language"] == "zh-hans"
