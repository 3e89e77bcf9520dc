"""Background jobs of the core app (django-tasks; executed by `wotu db_worker`)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from wotu.core.audit import audit_checkpoint
from wotu.core.errors import WotuError

logger = logging.getLogger(__name__)
DAILY = dt.timedelta(days=1)


@task()
def audit_checkpoint_daily() -> str:
    """Write a signed checkpoint to ``var/checkpoints`` and queue the same task for a day later.

    The next run is queued first, so a failed checkpoint (no ``WOTU_AUDIT_KEY``, a broken chain)
    is logged and tried again tomorrow rather than ending the daily series. Backends that cannot
    defer a task (the immediate backend) get no next run. Returns the file written or why not.
    """
    audit_checkpoint_schedule(run_after=timezone.now() + DAILY)
    try:
        path = audit_checkpoint()
    except WotuError as exc:
        logger.error("audit checkpoint not written: %s / %s", exc.zh, exc.en)
        return f"{exc.zh} / {exc.en}"
    return str(path)


def audit_checkpoint_schedule(*, run_after: dt.datetime | None = None) -> bool:
    """Queue :func:`audit_checkpoint_daily` to run at ``run_after`` (now when None), unless one
    is already waiting in the database queue — so calling this on every `wotu demo` keeps one
    daily series. Returns whether a task was queued."""
    backend = audit_checkpoint_daily.get_backend()
    if run_after is not None and not backend.supports_defer:
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=audit_checkpoint_daily.module_path, status=TaskResultStatus.READY
    )
    if isinstance(backend, DatabaseBackend) and waiting.exists():
        return False
    audit_checkpoint_daily.using(run_after=run_after).enqueue()
    return True
