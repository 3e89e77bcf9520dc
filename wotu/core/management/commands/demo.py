"""`wotu demo`: build the demo database and serve it on http://127.0.0.1:8000.

The build is the list :data:`STEPS`, run in order. Every step is idempotent and decides for
itself whether there is anything left to do, so `wotu demo` can run any number of times;
`--fresh` starts from an empty database. Later issues append their steps (policy runs, calls in
review, ledger entries) to :data:`STEPS`.

The demo logins and their passwords are fixed and printed on every run (:data:`LOGINS`); they
are for a local demo only. DEBUG is left as the environment sets it: static files are served by
WhiteNoise either way.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import unicodedata
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connection, connections

from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.organisations.models import EnterpriseYear, Kind, Organisation
from wotu.organisations.synth import DEFAULT_SEED, count_parse, partners_ensure

DEMO_YEARS = "2019-2023"
DEMO_SEED = DEFAULT_SEED
DEMO_BANK = "青岛银行"


@dataclass(frozen=True)
class DemoLogin:
    role: str  # a Role value; "" for the superuser
    role_zh: str
    role_en: str
    username: str
    password: str
    superuser: bool = False


LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(Role.BUREAU_OFFICER, "科技局", "bureau officer", "bureau", "wotu-bureau-2021"),
    DemoLogin(Role.FINANCE_OFFICER, "财政局", "finance officer", "finance", "wotu-finance-2021"),
    DemoLogin(
        Role.FINANCE_OFFICER,
        "财政局（复核）",
        "finance officer (approver)",
        "finance2",
        "wotu-finance2-2021",
    ),
    DemoLogin(
        Role.FINANCE_OFFICER,
        "财政局（复核）",
        "finance officer (approver)",
        "finance3",
        "wotu-finance3-2021",
    ),
    DemoLogin(Role.EXPERT, "评审专家", "expert reviewer", "expert", "wotu-expert-2021"),
    DemoLogin(Role.APPLICANT, "申报单位", "applicant", "applicant", "wotu-applicant-2021"),
    DemoLogin(Role.BANK_OFFICER, "合作银行", "bank officer", "bank", "wotu-bank-2021"),
    DemoLogin("", "系统管理员（/admin/）", "superuser (/admin/)", "admin", "wotu-admin-2021", True),
)


@dataclass
class Build:
    """What the steps share: the options, where to report, and the logins made."""

    enterprises: int
    fresh: bool
    verbosity: int
    stdout: OutputWrapper
    stderr: TextIO
    logins: list[tuple[DemoLogin, Organisation | None]]


@dataclass(frozen=True)
class Step:
    zh: str
    en: str
    run: Callable[[Build], str]  # does the work; returns what it did as "中文 / English"


def database_prepare(build: Build) -> str:
    """With --fresh, delete the SQLite file (or flush any other database); then migrate."""
    done = ""
    name = str(connection.settings_dict["NAME"])
    on_file = connection.vendor == "sqlite" and name != ":memory:" and "mode=memory" not in name
    if build.fresh:
        # A fresh database has a new chain: the old one's checkpoints no longer apply to it.
        from wotu.core.audit import checkpoints_dir_default

        shutil.rmtree(checkpoints_dir_default(), ignore_errors=True)
    if build.fresh and on_file:
        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
        done = f"已删除 {name}；/ deleted {name}; "
    elif build.fresh:
        call_command("flush", interactive=False, verbosity=0)
        done = "已清空数据库；/ emptied the database; "
    if on_file:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    return done + "数据库结构已是最新 / schema up to date"


def city_build(build: Build) -> str:
    """The synthetic city (`wotu synth --into-db`), unless the registry already holds facts."""
    if EnterpriseYear.objects.exists():
        partners_ensure()
        return "已建成，跳过（--fresh 可重建）/ already built, skipped (--fresh rebuilds it)"
    options = ["--enterprises", str(build.enterprises), "--years", DEMO_YEARS]
    options += ["--seed", str(DEMO_SEED), "--into-db"]
    if build.verbosity == 0:
        options.append("--quiet")
    call_command("synth", *options, stdout=build.stdout, stderr=build.stderr)
    return f"{build.enterprises} 家企业，{DEMO_YEARS} 年 / {build.enterprises} enterprises"


def logins_ensure(build: Build) -> str:
    """One login per role with the documented password; existing ones get it back if changed."""
    by_role: dict[str, Organisation] = {
        Role.APPLICANT: _applicant_organisation(),
        Role.BANK_OFFICER: _bank(),
    }
    created = 0
    for login in LOGINS:
        organisation = by_role.get(login.role)
        user, new = User.objects.get_or_create(
            username=login.username,
            defaults={"role": login.role, "organisation": organisation,
                      "is_superuser": login.superuser, "is_staff": login.superuser},
        )  # fmt: skip
        if new or not user.check_password(login.password):
            user.set_password(login.password)
            user.save(update_fields=["password"])
        created += new
        build.logins.append((login, user.organisation))
    return f"新建 {created} 个 / {created} created"


def _applicant_organisation() -> Organisation:
    """A high-tech enterprise of the newest year (the same one on every build of a seed)."""
    newest = EnterpriseYear.objects.order_by("-year").values_list("year", flat=True).first()
    rows = EnterpriseYear.objects.filter(year=newest or 0).order_by("organisation__uscc")
    row = rows.filter(hitech_cert_year__isnull=False).first() or rows.first()
    if row is None:
        raise WotuError("没有企业可作为申报单位", "there is no enterprise for the applicant login")
    return row.organisation


def _bank() -> Organisation:
    bank = Organisation.objects.filter(kind=Kind.BANK).order_by("id")
    found = bank.filter(name=DEMO_BANK).first() or bank.first()
    if found is None:
        raise WotuError("没有银行可供银行用户使用", "there is no bank for the bank officer login")
    return found


def policy_runs_ensure(build: Build) -> str:
    """The Qingdao plan and the tech-SME assessment for the newest demo year over the registry,
    and one scenario (the first-certification R&D cap raised from 300,000 to 500,000)."""
    from wotu.policies.services import runs_demo_ensure

    bureau = User.objects.filter(role=Role.BUREAU_OFFICER).order_by("id").first()
    return runs_demo_ensure(year=int(DEMO_YEARS[-4:]), user=bureau)


def calls_ensure(build: Build) -> str:
    """A Quanzhou-size call on public notice, a Guangzhou-style cross-border call in review
    and an open call, built from the synthetic city through the real services."""
    from wotu.programmes.demo import calls_demo_ensure

    return calls_demo_ensure(seed=DEMO_SEED)


def ledger_ensure(build: Build) -> str:
    """Budgets, commitments from the Qingdao run, paid and pending batches, a cross-border
    payment in HKD — all booked through the ledger's services."""
    from wotu.ledger.demo import ledger_demo_ensure

    return ledger_demo_ensure()


#: Signs the demo's audit checkpoints. A demo-only key, like the demo passwords: production
#: refuses to start without its own WOTU_AUDIT_KEY from the environment.
DEMO_AUDIT_KEY = "wotu-demo-audit-key-not-for-production-0001"


def audit_checkpoint_ensure(build: Build) -> str:
    """A signed checkpoint of the chain now, and the daily one queued for the worker."""
    from wotu.core.audit import audit_checkpoint
    from wotu.core.tasks import audit_checkpoint_schedule

    os.environ.setdefault("WOTU_AUDIT_KEY", DEMO_AUDIT_KEY)
    path = audit_checkpoint()
    queued = "已排队 / queued" if audit_checkpoint_schedule() else "已在队列中 / already queued"
    return f"{path.name}；每日检查点 / daily checkpoint {queued}"


STEPS: list[Step] = [
    Step("准备数据库", "prepare the database", database_prepare),
    Step("生成合成城市", "generate the synthetic city", city_build),
    Step("创建演示账号", "create the demo logins", logins_ensure),
    Step("运行政策与情景", "run the policies and a scenario", policy_runs_ensure),
    Step("建立申报与评审", "build calls in review and on notice", calls_ensure),
    Step("记账与付款", "book budgets, commitments and payments", ledger_ensure),
    Step("审计检查点", "sign an audit checkpoint", audit_checkpoint_ensure),
]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "建立演示数据库并启动服务 / build the demo database and serve it: "
        "`wotu demo [--no-serve] [--enterprises N] [--addrport 127.0.0.1:8000] [--fresh]`"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="建好即退出 / build and exit")
        parser.add_argument("--enterprises", default="2000", help="企业数 / number of enterprises")
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="地址:端口 / address:port")
        parser.add_argument("--fresh", action="store_true", help="从空库重建 / rebuild from empty")

    def handle(self, *args: Any, **options: Any) -> None:
        addrport = options["addrport"]
        if not re.fullmatch(r"(?:[\w.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}|\d{1,5}", addrport):
            raise CommandError(
                f"地址 {addrport!r} 格式不对：应写作 127.0.0.1:8000 / "
                f"the address {addrport!r} is malformed: write it as 127.0.0.1:8000"
            )
        try:
            build = Build(
                enterprises=count_parse(options["enterprises"]),
                fresh=options["fresh"],
                verbosity=options["verbosity"],
                stdout=self.stdout,
                stderr=cast(TextIO, self.stderr._out),
                logins=[],
            )
            for number, step in enumerate(STEPS, start=1):
                self.stdout.write(f"[{number}/{len(STEPS)}] {step.zh} / {step.en} …")
                self.stdout.write(f"    {step.run(build)}")
        except WotuError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc
        self._print_logins(build, addrport)
        if not options["no_serve"]:
            # WhiteNoise serves the files through the finders; it only warns if this is missing.
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
            self._serve(addrport)

    def _serve(self, addrport: str) -> None:
        """Serve the web app, with a task worker beside it so that policy runs started in the
        browser are executed (they are queued in the database); the worker stops with us."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "wotu.cli", "db_worker"], env=os.environ.copy()
        )
        self.stdout.write("后台任务进程已启动 / background task worker started")
        # `kill` or a service manager stops us with SIGTERM: stop the worker with us.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()

    def _print_logins(self, build: Build, addrport: str) -> None:
        header = ("角色 / role", "用户名 / username", "密码 / password", "所属单位 / organisation")
        lines = [header] + [
            (f"{login.role_zh} / {login.role_en}", login.username, login.password,
             organisation.name if organisation else "")
            for login, organisation in build.logins
        ]  # fmt: skip
        widths = [max(_width(line[k]) for line in lines) for k in range(len(header))]
        self.stdout.write("\n演示账号 / demo logins")
        for line in lines:
            self.stdout.write(
                "  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True))
            )
        url = f"http://{addrport if ':' in addrport else '127.0.0.1:' + addrport}/"
        self.stdout.write(f"\n网址 / URL: {url}    管理后台 / admin: {url}admin/")
