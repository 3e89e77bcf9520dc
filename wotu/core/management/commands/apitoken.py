"""`wotu apitoken create|list|revoke`: API tokens for scripts and other systems.

The raw token is printed once, by `create`; Wotu keeps only its digest, so a lost token cannot
be shown again — revoke it and create another.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wotu.core.errors import WotuError
from wotu.core.models import ApiToken, User
from wotu.core.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "API 令牌 / API tokens: create USERNAME [--name N] | list USERNAME | revoke ID"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,revoke}"
        )
        create = actions.add_parser(
            "create", help="新建令牌并打印一次 / create a token, print it once"
        )
        create.add_argument("username")
        create.add_argument("--name", default="cli", help="令牌名称 / a name to tell it apart")
        listing = actions.add_parser("list", help="列出用户的令牌 / list a user's tokens")
        listing.add_argument("username")
        revoke = actions.add_parser("revoke", help="撤销令牌 / revoke a token")
        revoke.add_argument("id", type=int, help="令牌编号（见 list）/ token id (see list)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                self._create(_user(options["username"]), options["name"])
            elif options["action"] == "list":
                self._list(_user(options["username"]))
            else:
                token = api_token_revoke(token_id=options["id"])
                self.stdout.write(f"已撤销 {token.user.username} 的令牌 {token} / revoked {token}")
        except WotuError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc

    def _create(self, user: User, name: str) -> None:
        token, raw = api_token_create(user=user, name=name)
        self.stderr.write(
            f"已为 {user.username} 新建令牌 {token.pk}（{token.name}）。"
            "它只显示这一次，请妥善保存。\n"
            f"created token {token.pk} ({token.name}) for {user.username}. "
            "It is shown only this once: keep it safe."
        )
        self.stdout.write(raw)

    def _list(self, user: User) -> None:
        tokens = ApiToken.objects.filter(user=user).order_by("created_at", "pk")
        if not tokens:
            self.stdout.write(f"{user.username} 没有 API 令牌 / {user.username} has no API tokens")
        for token in tokens:
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.prefix}…\t{token.name}\t"
                f"created {token.created_at:%Y-%m-%d %H:%M}\tlast used {used}"
            )


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise WotuError(f"没有用户名为 {username} 的用户", f"there is no user {username}") from exc
