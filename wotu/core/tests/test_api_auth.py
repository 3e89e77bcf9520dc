"""Who the REST API lets in: bearer tokens, browser sessions (with CSRF), and nobody else."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from wotu.conftest import PASSWORD
from wotu.core.errors import WotuError
from wotu.core.models import ApiToken, User
from wotu.core.services import api_token_create, api_token_revoke
from wotu.organisations.models import EnterpriseYear, Organisation

LIST = "/api/organisations"
CSRF_SECRET = "A" * 32  # a well-formed CSRF secret; the cookie and the header must carry it


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def facts_body(organisation: Organisation, year: int) -> str:
    """The stored year as a PUT body (the same values: the request changes nothing)."""
    row = EnterpriseYear.objects.filter(organisation=organisation, year=year).values().get()
    columns = {k: v for k, v in row.items()
               if k not in {"id", "organisation_id", "year", "batch_id", "updated_at"}}  # fmt: skip
    return json.dumps(columns, default=str)


# --- bearer tokens ------------------------------------------------------------------------


def test_a_valid_token_lets_its_user_in_and_records_when_it_was_used(alice: User) -> None:
    # given
    token, raw = api_token_create(user=alice, name="nightly sync")
    # when
    response = bearer(raw).get(LIST)
    # then
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < dt.timedelta(seconds=30)


def test_only_a_digest_of_the_token_is_stored(alice: User) -> None:
    token, raw = api_token_create(user=alice, name="nightly sync")
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw.startswith("wotu_") and raw not in {str(v) for v in stored.values()}
    assert stored["digest"] == ApiToken.digest_of(raw) and raw.startswith(stored["prefix"])


def test_the_last_use_is_recorded_at_most_once_a_minute(alice: User) -> None:
    # given a token used 30 seconds ago
    token, raw = api_token_create(user=alice, name="dashboard")
    recent = timezone.now() - dt.timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    # when it is used again
    bearer(raw).get(LIST)
    # then the record is unchanged
    token.refresh_from_db()
    assert token.last_used_at == recent
    # but after two minutes it is updated
    old = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    bearer(raw).get(LIST)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > old


@pytest.mark.parametrize(
    "header",
    ["Bearer wotu_not-a-real-token", "Bearer ", "Bearer abc", "bearer wotu_x y"],
)
def test_a_wrong_token_is_refused_with_401(alice: User, header: str) -> None:
    # given a token exists, but not this one
    api_token_create(user=alice, name="real")
    # when
    response = Client(headers={"Authorization": header}).get(LIST)
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail_en"] in {
        "the API token is invalid or revoked, or its user is inactive",
        "authentication required: log in, or send 'Authorization: Bearer …'",
    }


def test_a_revoked_token_is_refused(alice: User) -> None:
    # given
    token, raw = api_token_create(user=alice, name="laptop")
    assert bearer(raw).get(LIST).status_code == 200
    # when
    api_token_revoke(token_id=token.pk)
    # then
    response = bearer(raw).get(LIST)
    assert response.status_code == 401
    assert response.json()["detail_zh"] == "API 令牌无效、已撤销，或其用户已停用"


def test_the_token_of_an_inactive_user_is_refused(alice: User) -> None:
    # given
    _, raw = api_token_create(user=alice, name="laptop")
    alice.is_active = False
    alice.save()
    # when
    response = bearer(raw).get(LIST)
    # then
    assert response.status_code == 401


def test_a_bad_token_is_refused_even_with_a_logged_in_session(alice: User) -> None:
    # given a browser logged in as alice that also sends a wrong token
    client = Client(headers={"Authorization": "Bearer wotu_wrong"})
    client.force_login(alice)
    # then the wrong token is not silently ignored
    assert client.get(LIST).status_code == 401


def test_a_token_acts_with_its_users_role(dave: User, jiaodong: Organisation) -> None:
    _, raw = api_token_create(user=dave, name="erp")
    body = bearer(raw).get(LIST).json()
    assert [o["id"] for o in body["items"]] == [dave.organisation_id]
    assert bearer(raw).get(f"{LIST}/{jiaodong.pk}").status_code == 404


def test_a_token_needs_no_csrf_token_for_a_put(alice: User, haina: Organisation) -> None:
    # given a client that enforces CSRF like a browser would
    _, raw = api_token_create(user=alice, name="sync")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    # when
    response = client.put(
        f"{LIST}/{haina.pk}/facts/2023", facts_body(haina, 2023), content_type="application/json"
    )
    # then
    assert response.status_code == 200, response.json()


def test_a_token_needs_a_name(alice: User) -> None:
    with pytest.raises(WotuError):
        api_token_create(user=alice, name="  ")


# --- sessions -----------------------------------------------------------------------------


def test_a_logged_in_browser_session_may_call_the_api(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert client.get(LIST).status_code == 200


def test_a_session_put_without_a_csrf_token_is_refused(alice: User, haina: Organisation) -> None:
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    before = list(EnterpriseYear.objects.values())
    # when
    response = client.put(
        f"{LIST}/{haina.pk}/facts/2023", facts_body(haina, 2023), content_type="application/json"
    )
    # then
    assert response.status_code == 403
    assert response.json()["detail_en"].startswith("CSRF check failed")
    assert list(EnterpriseYear.objects.values()) == before


def test_a_session_put_with_the_csrf_token_is_accepted(alice: User, haina: Organisation) -> None:
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.cookies["csrftoken"] = CSRF_SECRET
    # when
    response = client.put(
        f"{LIST}/{haina.pk}/facts/2023",
        facts_body(haina, 2023),
        content_type="application/json",
        headers={"X-CSRFToken": CSRF_SECRET},
    )
    # then
    assert response.status_code == 200, response.json()


def test_a_session_get_needs_no_csrf_token(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(LIST).status_code == 200


def test_an_anonymous_put_is_401_not_a_csrf_refusal(haina: Organisation) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.put(f"{LIST}/{haina.pk}/facts/2023", "{}", content_type="application/json")
    assert response.status_code == 401


def test_the_session_of_a_deactivated_user_is_refused(alice: User) -> None:
    # given a browser logged in before the account was deactivated
    client = Client()
    client.force_login(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    # then
    assert client.get(LIST).status_code == 401


def test_an_anonymous_caller_gets_a_bilingual_401() -> None:
    response = Client().get(LIST)
    assert response.status_code == 401
    body = response.json()
    assert body["detail_zh"] == "需要登录，或在 Authorization 请求头中发送有效的 API 令牌"
    assert body["detail"] == f"{body['detail_zh']} / {body['detail_en']}"


# --- the command line ---------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apitoken", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_a_new_token_once_and_it_works(alice: User) -> None:
    # when
    out, err = run("create", "alice", "--name", "etl")
    # then stdout is exactly the token, so a script can capture it
    raw = out.strip()
    assert raw.startswith("wotu_") and "\n" not in raw
    assert "shown only this once" in err and "只显示这一次" in err
    assert bearer(raw).get(LIST).status_code == 200
    # and it is never shown again
    listed, _ = run("list", "alice")
    assert "etl" in listed and raw[:8] in listed and raw not in listed


def test_the_command_lists_and_revokes_tokens(alice: User) -> None:
    # given
    token, raw = api_token_create(user=alice, name="old laptop")
    # when
    out, _ = run("revoke", str(token.pk))
    # then
    assert "revoked" in out and "已撤销" in out
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert bearer(raw).get(LIST).status_code == 401
    assert "has no API tokens" in run("list", "alice")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "nobody"), "没有用户名为 nobody 的用户 / there is no user nobody"),
        (("list", "nobody"), "没有用户名为 nobody 的用户 / there is no user nobody"),
        (("revoke", "424242"), "没有编号为 424242 的 API 令牌 / there is no API token 424242"),
    ],
)
def test_the_command_explains_an_unknown_user_or_token(
    db: None, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_the_wotu_entry_point_knows_the_command(capsys: pytest.CaptureFixture[Any]) -> None:
    from wotu.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["apitoken", "--help"])
    assert exit_info.value.code == 0
    assert "create" in capsys.readouterr().out
