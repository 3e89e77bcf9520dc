"""The public pages, signing in and out, each role's home page, languages and error pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.core.templatetags.wotu import district, money

PERSONAS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def english(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


@pytest.mark.django_db
def test_the_landing_page_is_public_and_explains_wotu(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "沃土" in text
    assert 'href="/login/"' in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/registry/", "/registry/1/", "/registry/1/facts/2023/edit/", "/registry/import/",
     "/registry/export/", "/registry/1/facts/add/"],
)  # fmt: skip
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_other_page(
    client: Client, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.django_db
def test_the_sign_in_page_is_in_chinese_by_default(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert 'lang="zh-Hans"' in response.content.decode()


def test_signing_in_leads_to_the_home_page(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert 'data-role="bureau_officer"' in response.content.decode()


def test_a_wrong_password_is_refused_with_a_message(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "error-summary" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_out_takes_a_post_and_ends_the_session(alice: User) -> None:
    client = signed_in(alice)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/registry/").status_code == 302


HOME_LINKS = {
    "alice": {"registry", "import", "export"},
    "bob": {"registry", "export"},
    "carol": set(),
    "dave": {"own"},
    "erin": {"own"},
    "frank": {"registry"},
    "gina": {"registry", "import", "export", "admin"},
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_sees_a_home_page_with_only_the_links_it_may_use(
    request: pytest.FixtureRequest, persona: str
) -> None:
    user: User = request.getfixturevalue(persona)
    text = signed_in(user).get("/").content.decode()
    shown = {key for key in ("registry", "own", "import", "export", "admin")
             if f'data-home-link="{key}"' in text}  # fmt: skip
    assert shown == HOME_LINKS[persona]


def test_an_applicants_home_links_to_its_own_organisation(dave: User) -> None:
    text = signed_in(dave).get("/").content.decode()
    assert f'href="/registry/{dave.organisation_id}/" data-home-link="own"' in text


def test_an_expert_is_told_where_reviews_will_appear(carol: User) -> None:
    text = signed_in(carol).get("/").content.decode()
    assert "评审" in text


def test_the_language_switch_renders_english_and_returns_to_the_same_page(alice: User) -> None:
    client = signed_in(alice)
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/registry/?q=Haina"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/registry/?q=Haina"
    text = response.content.decode()
    assert 'lang="en"' in text
    assert "Registry" in text
    assert "中文" in text  # the way back


def test_the_forbidden_page_explains_itself_in_both_languages(carol: User) -> None:
    client = signed_in(carol)
    response = client.get("/registry/")
    assert response.status_code == 403
    assert "您无权打开此页面" in response.content.decode()
    response = english(client).get("/registry/")
    assert response.status_code == 403
    assert "You may not open this page" in response.content.decode()


def test_the_not_found_page_explains_itself_in_both_languages(alice: User) -> None:
    client = signed_in(alice)
    response = client.get("/registry/999999/")
    assert response.status_code == 404
    assert "找不到" in response.content.decode()
    response = english(client).get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("0.005"), "¥0.01"),
        (Decimal("-1234567.891"), "-¥1,234,567.89"),
        ("52000000.00", "¥52,000,000.00"),
        (None, "—"),
    ],
)
def test_money_is_shown_in_yuan_with_two_decimals_rounded_half_up(
    value: object, shown: str
) -> None:
    assert money(value) == shown


def test_a_district_is_shown_by_name_and_an_unknown_code_as_is() -> None:
    assert district("370212") == "崂山区"
    assert district("999999") == "999999"
    assert district("") == "—"
