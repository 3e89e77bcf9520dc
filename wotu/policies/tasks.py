"""Background jobs of the policies app (django-tasks; executed by `wotu db_worker`)."""

from __future__ import annotations

from django_tasks import task

from wotu.policies import services


@task()
def run_execute(run_id: int) -> str:
    """Execute a queued policy run (progress and outcome are recorded on the run itself)."""
    run = services.run_execute(run_id=run_id)
    return str(run.status)
