"""The programmes REST endpoints: calls, applications (drafts, files, submission, withdrawal)
and the formal check.

Thin, like the registry's: parse, call one permission-scoped selector or one service, render.
Refusals have the shape of :mod:`wotu.api` (``detail``, ``detail_zh``, ``detail_en``): 401
anonymous, 403 a role that may not, 404 unknown or not visible, 400 a step that cannot be taken
now (e.g. the call has closed), 422 invalid data — with *every* problem in ``errors``, each
naming its field.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import File, Router, Status
from ninja.files import UploadedFile

from wotu.core.models import User
from wotu.organisations.schemas import Problem
from wotu.programmes import selectors, services
from wotu.programmes.models import Application, Call
from wotu.programmes.schemas import (
    ApplicationOut,
    CallOut,
    DraftIn,
    FormalCheckIn,
    Invalid,
    WithdrawIn,
)

router = Router(tags=["programmes"])

REFUSALS: dict[int | str, Any] = {401: Problem, 403: Problem, 404: Problem}
WRITES: dict[int | str, Any] = {**REFUSALS, 400: Problem, 422: Invalid}


def _caller(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _invalid(exc: services.Invalid) -> Status[dict[str, Any]]:
    errors = [
        {"field": e.field, "code": e.code, "message_zh": e.message_zh, "message_en": e.message_en}
        for e in exc.errors
    ]
    body = {"detail": f"{exc.zh} / {exc.en}", "detail_zh": exc.zh, "detail_en": exc.en}
    return Status(422, {**body, "errors": errors})


def call_out(call: Call) -> dict[str, Any]:
    programme = call.programme
    return {
        "id": call.pk, "code": call.code, "title": call.title, "title_en": call.title_en,
        "programme": programme.code, "opens_at": call.opens_at, "closes_at": call.closes_at,
        "status": call.status, "accepting": services.call_accepting(call),
        "budget": programme.budget, "max_award": programme.max_award,
    }  # fmt: skip


def application_out(application: Application) -> dict[str, Any]:
    files = [
        {"field": a.field, "name": a.original_name, "kind": a.kind, "size": a.size,
         "sha256": a.sha256}
        for a in application.files.order_by("field")
    ]  # fmt: skip
    return {
        "id": application.pk, "reference": application.reference,
        "call_id": application.call_id, "call": application.call.code,
        "organisation_id": application.organisation_id,
        "organisation": application.organisation.name,
        "partners": sorted(p.pk for p in application.partners.all()),
        "title": application.title, "field": application.field, "status": application.status,
        "stage": application.stage.kind if application.stage else None,
        "feedback": application.feedback, "answers": application.answers,
        "budget": application.budget, "requested": application.requested,
        "submitted_at": application.submitted_at, "files": files,
    }  # fmt: skip


# --- calls ------------------------------------------------------------------------------------


@router.get("/calls", response={200: list[CallOut], **REFUSALS})
def call_list(request: HttpRequest, open_only: bool = False) -> list[dict[str, Any]]:
    """Calls the caller may see: all for officers; open ones (and those applied to) otherwise.
    ``open_only=true``: the calls accepting applications now or soon."""
    user = _caller(request)
    calls = selectors.calls_open() if open_only else selectors.call_list_for_user(user=user)
    return [call_out(call) for call in calls]


@router.get("/calls/{call_id}", response={200: CallOut, **REFUSALS})
def call_get(request: HttpRequest, call_id: int) -> dict[str, Any]:
    return call_out(selectors.call_get_for_user(user=_caller(request), pk=call_id))


# --- applications -----------------------------------------------------------------------------


@router.get("/applications", response={200: list[ApplicationOut], **REFUSALS})
def application_list(
    request: HttpRequest, call_id: int | None = None, status: str = ""
) -> list[dict[str, Any]]:
    """Officers: every application (filter by call and status); applicants: their own."""
    user = _caller(request)
    call = selectors.call_get_for_user(user=user, pk=call_id) if call_id else None
    applications = selectors.applications_for_user(user=user, call=call, status=status)
    return [application_out(a) for a in applications.prefetch_related("files", "partners")]


@router.get("/applications/{application_id}", response={200: ApplicationOut, **REFUSALS})
def application_get(request: HttpRequest, application_id: int) -> dict[str, Any]:
    user = _caller(request)
    return application_out(selectors.application_get_for_user(user=user, pk=application_id))


@router.post("/calls/{call_id}/applications", response={201: ApplicationOut, **WRITES})
def application_create(request: HttpRequest, call_id: int, body: DraftIn) -> Status[Any]:
    """Start a draft in a call (the applicant's organisation leads it)."""
    user = _caller(request)
    call = selectors.call_get_for_user(user=user, pk=call_id)
    try:
        application = services.application_draft_save(
            actor=user, call=call, **body.model_dump(exclude_none=True)
        )
    except services.Invalid as exc:
        return _invalid(exc)
    return Status(201, application_out(application))


@router.patch("/applications/{application_id}", response={200: ApplicationOut, **WRITES})
def application_update(
    request: HttpRequest, application_id: int, body: DraftIn
) -> dict[str, Any] | Status[Any]:
    """Change a draft (or an application returned for correction)."""
    user = _caller(request)
    application = selectors.application_get_for_user(user=user, pk=application_id)
    try:
        application = services.application_draft_save(
            actor=user, call=application.call, application=application,
            **body.model_dump(exclude_none=True),
        )  # fmt: skip
    except services.Invalid as exc:
        return _invalid(exc)
    return application_out(application)


@router.post(
    "/applications/{application_id}/files/{field}", response={200: ApplicationOut, **WRITES}
)
def application_file(
    request: HttpRequest, application_id: int, field: str, file: File[UploadedFile]
) -> dict[str, Any] | Status[Any]:
    """Upload (or replace) the file of a form field, as ``multipart/form-data`` part ``file``.
    Checked by content: PDF ≤ 20 MB, other accepted kinds ≤ 10 MB."""
    user = _caller(request)
    application = selectors.application_get_for_user(user=user, pk=application_id)
    try:
        application = services.application_draft_save(
            actor=user, call=application.call, application=application, files={field: file}
        )
    except services.Invalid as exc:
        return _invalid(exc)
    return application_out(application)


@router.post("/applications/{application_id}/submit", response={200: ApplicationOut, **WRITES})
def application_submit(request: HttpRequest, application_id: int) -> dict[str, Any] | Status[Any]:
    """Submit: 422 lists every problem (form, budget, who may apply, eligibility) at once."""
    user = _caller(request)
    application = selectors.application_get_for_user(user=user, pk=application_id)
    try:
        application = services.application_submit(actor=user, application=application)
    except services.Invalid as exc:
        return _invalid(exc)
    return application_out(application)


@router.post("/applications/{application_id}/withdraw", response={200: ApplicationOut, **WRITES})
def application_withdraw(
    request: HttpRequest, application_id: int, body: WithdrawIn
) -> dict[str, Any]:
    user = _caller(request)
    application = selectors.application_get_for_user(user=user, pk=application_id)
    return application_out(
        services.application_withdraw(actor=user, application=application, reason=body.reason)
    )


@router.post(
    "/applications/{application_id}/formal-check", response={200: ApplicationOut, **WRITES}
)
def application_formal_check(
    request: HttpRequest, application_id: int, body: FormalCheckIn
) -> dict[str, Any] | Status[Any]:
    """A bureau officer's formal check: ``pass`` (to review), ``return`` or ``reject`` (a note is
    required for these two; the applicant reads it)."""
    user = _caller(request)
    application = selectors.application_get_for_user(user=user, pk=application_id)
    try:
        application = services.application_formal_check(
            application=application, actor=user, outcome=body.outcome, note=body.note
        )
    except services.Invalid as exc:
        return _invalid(exc)
    return application_out(application)
