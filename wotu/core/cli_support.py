"""What the ``wotu`` commands share: bilingual refusals as a clean exit 1, who acts or reads,
bilingual labels, money and ``--out`` checks. The commands stay thin: they parse, call one
service and print; every refusal reaches the shell in Chinese and English, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, OutputWrapper
from django.db import OperationalError, ProgrammingError
from django.http import Http404
from django.utils import translation

from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.ledger.bankfiles import FileRowsError
from wotu.organisations.facts_io import TableFileError

USER_HELP = "执行人用户名（其角色须可执行此操作）/ username of who acts (their role is checked)"
READER_HELP = (
    "以该用户的权限查看；省略时以科技局工作人员身份查看 / read as this user (default: as a"
    " bureau officer)"
)
QUIET_HELP = "不显示进度条 / no progress bar"


@contextmanager
def refusals(stderr: OutputWrapper) -> Iterator[None]:
    """Every bilingual refusal becomes a CommandError (exit 1, no traceback); a file's bad rows
    are printed first, one line per language."""
    try:
        yield
    except FileRowsError as exc:
        for error in exc.errors:
            stderr.write(error.text_zh())
            stderr.write(error.text_en())
        raise CommandError(
            f"文件有 {len(exc.errors)} 处问题，未导入任何内容\n"
            f"{len(exc.errors)} problem(s) in the file; nothing was imported"
        ) from exc
    except (WotuError, TableFileError) as exc:
        raise CommandError(f"{exc.zh}\n{exc.en}") from exc
    except PermissionDenied as exc:
        zh, en = refusal_text(exc)
        raise CommandError(f"{zh}\n{en}") from exc
    except Http404 as exc:
        raise CommandError("找不到该对象，或您无权查看\nnot found, or not yours to see") from exc
    except (OperationalError, ProgrammingError) as exc:
        raise CommandError(
            f"数据库不可用（{exc}）：如尚未建表，请先运行 wotu migrate\n"
            f"the database is not usable ({exc}): if its tables are missing, run `wotu migrate`"
        ) from exc


def refusal_text(exc: PermissionDenied) -> tuple[str, str]:
    """A role refusal in both languages: the ``zh``/``en`` it carries, or its ``"zh / en"``
    text, or a general sentence when it says nothing."""
    zh, en = getattr(exc, "zh", ""), getattr(exc, "en", "")
    if zh and en:
        return str(zh), str(en)
    text = str(exc)
    if " / " in text:
        head, _, tail = text.partition(" / ")
        return head, tail
    return "您的角色无权执行此操作", "your role may not do this"


def user_named(username: str) -> User:
    """The active account ``username``; a WotuError when there is none."""
    user = User.objects.filter(username=username, is_active=True).select_related("organisation")
    found = user.first()
    if found is None:
        raise WotuError(f"找不到用户 {username}（或已停用）", f"no active user {username}")
    return found


def reader(username: str | None) -> User:
    """Who a reading command reads as: ``--user``, or without it an unsaved bureau officer
    (the shell's operator; never used for a write)."""
    if username:
        return user_named(username)
    return User(username="shell", role=Role.BUREAU_OFFICER)


def bilingual_labels(choice: Any) -> str:
    """A TextChoices member as ``中文 / English`` (Chinese from the project's catalogue)."""
    with translation.override("zh-hans"):
        zh = str(choice.label)
    with translation.override("en"):
        en = str(choice.label)
    return f"{zh} / {en}"


def progress_stream(wrapper: OutputWrapper) -> IO[str]:
    """The stream under a command's output wrapper, for tqdm progress bars."""
    return cast(IO[str], wrapper._out)


def money(value: Decimal | None) -> str:
    """An amount as ``CNY 1,234.50``; ``—`` when there is none."""
    return "—" if value is None else f"CNY {value:,.2f}"


def out_checked(out: Path | None) -> Path | None:
    """``--out`` must name a .csv or .xlsx file (refused before anything is read)."""
    if out is not None and out.suffix.lower() not in {".csv", ".xlsx"}:
        raise WotuError(f"请写出 .csv 或 .xlsx 文件：{out}", f"write a .csv or .xlsx file: {out}")
    return out
