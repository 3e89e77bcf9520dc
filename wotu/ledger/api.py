"""The payments REST endpoints under /api/ledger/: payment batches (list, get, prepare, submit,
approve, cancel, export as a bank file, the bank's return file), the FX rate table (import,
list), and commitments with their tranches (read).

Thin: parse, call one scoped selector or one service, render. Refusals: 400 a service's rule
(:class:`~wotu.core.errors.WotuError`), 403 the role may not, 404 not visible, 409 an
idempotency key reused for another request, 422 an invalid request, an unreadable file, or a
file with bad rows (``errors`` lists every ``row N, column C, value V: reason``).

Idempotency: every POST that moves money or approves moving it (prepare, submit, approve,
cancel, export, return) requires an ``Idempotency-Key`` header (missing → 422). The same key
with the same request returns the first response again, byte for byte (same status, same body,
same file); the same key with another request (another body, file, batch or caller) → 409.
The header's key is also handed to the service, so a retry through the CLI with the same key
books nothing twice either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import PlainSerializer, WithJsonSchema

from wotu.core.audit import canonical_json
from wotu.core.models import User
from wotu.ledger import cancellations, payments, permissions, selectors
from wotu.ledger.bankfiles import FileRowsError, FileUnreadable
from wotu.ledger.fx import fx_rates_import
from wotu.ledger.models import Commitment, FxRate, PaymentBatch, PaymentLine, Tranche
from wotu.ledger.posting import IdempotencyConflict, idempotent
from wotu.organisations.schemas import Money, Problem

router = Router(tags=["ledger"])

KEY_HEADER = "Idempotency-Key"

Rate = Annotated[
    Decimal | None,
    PlainSerializer(lambda v: None if v is None else f"{Decimal(v):.6f}", return_type=str | None),
    WithJsonSchema({"type": ["string", "null"], "examples": ["0.879300"]}),
]


class RowErrorOut(Schema):
    row: int
    column: str
    value: str
    reason_zh: str
    reason_en: str


class RowsInvalid(Problem):
    errors: list[RowErrorOut] = []


REFUSALS: dict[int | str, Any] = {
    400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: RowsInvalid,
}  # fmt: skip


class LineOut(Schema):
    id: int
    reference: str
    tranche_id: int
    payee_id: int
    payee: str
    bank_name: str
    bank_account: str
    amount_cny: Money
    currency: str
    amount: Money
    fx_rate: Rate
    fx_date: dt.date | None
    fx_source: str
    purpose: str
    status: str
    bank_message: str


class ApprovalOut(Schema):
    approver: str
    approved_at: dt.datetime


class BatchOut(Schema):
    id: int
    reference: str
    status: str
    prepared_by: str
    created_at: dt.datetime
    exported_at: dt.datetime | None
    total_cny: Money
    approvals_needed: int
    approvals: list[ApprovalOut]
    lines: list[LineOut]


class BatchSummary(Schema):
    id: int
    reference: str
    status: str
    prepared_by: str
    created_at: dt.datetime
    total_cny: Money
    lines: int


class PrepareIn(Schema):
    tranches: list[int] = Field(..., min_length=1, max_length=5000)


class ReturnOut(Schema):
    batch: int
    paid: int
    failed: int
    pending: int
    status: str


class FxRateOut(Schema):
    date: dt.date
    currency: str
    rate: Rate
    source: str


class FxImportOut(Schema):
    rows: int
    created: int
    unchanged: int


class FxQuery(Schema):
    currency: str = Field("", pattern=r"^(HKD|MOP)?$")


class TrancheOut(Schema):
    id: int
    commitment_id: int
    order: int
    due_on: dt.date
    amount: Money
    milestone_id: int | None
    status: str
    payee: str


class CommitmentOut(Schema):
    id: int
    award_type: str
    award_id: str
    programme: str
    year: int
    source: str
    payee_id: int
    payee: str
    amount: Money
    created_at: dt.datetime
    tranches: list[TrancheOut]


class ChargeIn(Schema):
    amount: Decimal = Field(..., description="CNY, > 0, at most two decimals")
    memo: str = Field("", max_length=200)


class ChargeOut(Schema):
    entry: int
    commitment: int
    amount: Money


def _caller(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _problem(zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"detail": f"{zh} / {en}", "detail_zh": zh, "detail_en": en, **extra}


# --- idempotency --------------------------------------------------------------------------


class _Answer(Exception):
    """A refusal to send as is (422 rows, 409 conflict) from inside an idempotent call."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _once(
    request: HttpRequest,
    *,
    scope: str,
    fingerprint: dict[str, Any],
    produce: Callable[[str], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run ``produce(key)`` once per ``Idempotency-Key`` header and return its (status, body)
    again on a replay. Raises :class:`_Answer` for a missing key (422), a reused key (409) and
    a file with bad rows (422); a service's refusal stores nothing, so a retry runs again."""
    key = request.headers.get(KEY_HEADER, "").strip()
    if not key:
        raise _Answer(422, _problem(
            f"缺少 {KEY_HEADER} 请求头：每个资金操作都必须带一个唯一的幂等键（如 UUID）",
            f"the {KEY_HEADER} header is missing: every money-moving request needs a unique"
            " idempotency key (e.g. a UUID)",
        ))  # fmt: skip
    if len(key) > 150:
        raise _Answer(422, _problem(f"{KEY_HEADER} 不能超过 150 个字符",
                                    f"the {KEY_HEADER} may be at most 150 characters"))  # fmt: skip
    user = _caller(request)
    ask = {"user": user.pk, "path": request.path, **fingerprint}

    def run() -> dict[str, Any]:
        status, body = produce(key)
        return {"status": status, "body": body}

    try:
        stored = idempotent(key=f"api:{key}", scope=f"api.{scope}", request=ask, run=run)
    except IdempotencyConflict as exc:
        raise _Answer(409, _problem(exc.zh, exc.en)) from exc
    except FileRowsError as exc:
        raise _Answer(422, _problem(exc.zh, exc.en,
                                    errors=[e.as_dict() for e in exc.errors])) from exc  # fmt: skip
    except FileUnreadable as exc:
        raise _Answer(422, _problem(exc.zh, exc.en, errors=[])) from exc
    return int(stored["status"]), dict(stored["body"])


def _guarded(
    request: HttpRequest,
    *,
    scope: str,
    fingerprint: dict[str, Any],
    produce: Callable[[str], tuple[int, dict[str, Any]]],
) -> Status[dict[str, Any]]:
    try:
        status, body = _once(request, scope=scope, fingerprint=fingerprint, produce=produce)
    except _Answer as answer:
        return Status(answer.status, answer.body)
    return Status(status, body)


# --- batches ------------------------------------------------------------------------------


def _line_out(line: PaymentLine) -> dict[str, Any]:
    return {
        "id": line.pk, "reference": line.reference, "tranche_id": line.tranche_id,
        "payee_id": line.payee_id, "payee": line.payee.name, "bank_name": line.bank_name,
        "bank_account": line.bank_account, "amount_cny": line.amount_cny,
        "currency": line.currency, "amount": line.amount, "fx_rate": line.fx_rate,
        "fx_date": line.fx_date, "fx_source": line.fx_source, "purpose": line.purpose,
        "status": line.status, "bank_message": line.bank_message,
    }  # fmt: skip


def _batch_out(batch: PaymentBatch) -> dict[str, Any]:
    """The batch as the API shows it, in canonical JSON form (so a stored replay equals it)."""
    out = {
        "id": batch.pk,
        "reference": batch.reference,
        "status": batch.status,
        "prepared_by": batch.prepared_by.get_username(),
        "created_at": batch.created_at,
        "exported_at": batch.exported_at,
        "total_cny": payments.batch_total(batch=batch),
        "approvals_needed": payments.approvals_needed(batch=batch),
        "approvals": [
            {"approver": a.approver.get_username(), "approved_at": a.approved_at}
            for a in batch.approvals.select_related("approver").order_by("approved_at", "pk")
        ],
        "lines": [_line_out(x) for x in batch.lines.select_related("payee").order_by("pk")],
    }
    return cast(dict[str, Any], _canonical(out))


def _canonical(value: Any) -> Any:
    import json

    return json.loads(canonical_json(value))


@router.get("/ledger/batches", response={200: list[BatchSummary], **REFUSALS})
def batch_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Payment batches, newest first (bureau and finance officers)."""
    batches = selectors.batch_list_for_user(user=_caller(request))
    return [
        {"id": b.pk, "reference": b.reference, "status": b.status,
         "prepared_by": b.prepared_by.get_username(), "created_at": b.created_at,
         "total_cny": sum((x.amount_cny for x in b.lines.all()), Decimal("0")),
         "lines": len(b.lines.all())}
        for b in batches[:500]
    ]  # fmt: skip


@router.get("/ledger/batches/{batch_id}", response={200: BatchOut, **REFUSALS})
def batch_get(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(selectors.batch_get_for_user(user=_caller(request), pk=batch_id))


def _require_payer(user: User) -> None:
    if not permissions.can_prepare_payments(user):
        raise payments.PaymentNotAllowed(
            "只有财务人员可以办理付款", "only finance officers may handle payments"
        )


@router.post("/ledger/batches", response={201: BatchOut, **REFUSALS})
def batch_prepare(request: HttpRequest, body: PrepareIn) -> Status[dict[str, Any]]:
    """Prepare a draft batch from payable tranches (finance officers; Idempotency-Key)."""
    user = _caller(request)
    _require_payer(user)

    def produce(key: str) -> tuple[int, dict[str, Any]]:
        batch = payments.batch_prepare(tranches=body.tranches, actor=user, key=key)
        return 201, _batch_out(batch)

    fingerprint = {"tranches": sorted(set(body.tranches))}
    return _guarded(request, scope="batch.prepare", fingerprint=fingerprint, produce=produce)


def _batch_step(
    request: HttpRequest, batch_id: int, scope: str, step: Callable[..., PaymentBatch]
) -> Status[dict[str, Any]]:
    user = _caller(request)
    batch = selectors.batch_get_for_user(user=user, pk=batch_id)
    _require_payer(user)

    def produce(key: str) -> tuple[int, dict[str, Any]]:
        return 200, _batch_out(step(batch=batch, actor=user, key=key))

    return _guarded(request, scope=scope, fingerprint={"batch": batch.pk}, produce=produce)


@router.post("/ledger/batches/{batch_id}/submit", response={200: BatchOut, **REFUSALS})
def batch_submit(request: HttpRequest, batch_id: int) -> Status[dict[str, Any]]:
    """Send a draft batch for approval (finance officers; Idempotency-Key)."""
    return _batch_step(request, batch_id, "batch.submit", payments.batch_submit)


@router.post("/ledger/batches/{batch_id}/approve", response={200: BatchOut, **REFUSALS})
def batch_approve(request: HttpRequest, batch_id: int) -> Status[dict[str, Any]]:
    """Approve a submitted batch: a finance officer other than its preparer; two approvers
    above ``WOTU_TWO_APPROVER_THRESHOLD`` (Idempotency-Key)."""
    return _batch_step(request, batch_id, "batch.approve", payments.batch_approve)


@router.post("/ledger/batches/{batch_id}/cancel", response={200: BatchOut, **REFUSALS})
def batch_cancel(request: HttpRequest, batch_id: int) -> Status[dict[str, Any]]:
    """Cancel a draft, submitted or approved batch; its tranches are payable again (finance
    officers; Idempotency-Key)."""
    return _batch_step(request, batch_id, "batch.cancel", cancellations.batch_cancel)


def _file_response(*, content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post(
    "/ledger/batches/{batch_id}/export",
    response={200: None, **REFUSALS},
    openapi_extra={"responses": {200: {"description": "the bank payment file (CSV)",
                                       "content": {"text/csv": {}}}}},
)  # fmt: skip
def batch_export(request: HttpRequest, batch_id: int) -> HttpResponse | Status[dict[str, Any]]:
    """Export an approved batch: posts the export entry and downloads the bank payment file
    (CSV: payee, bank_account, amount, currency, purpose, reference, bank_name). A replay with
    the same Idempotency-Key downloads the same file."""
    user = _caller(request)
    batch = selectors.batch_get_for_user(user=user, pk=batch_id)
    _require_payer(user)

    def produce(key: str) -> tuple[int, dict[str, Any]]:
        content = payments.batch_export(batch=batch, actor=user, key=key)
        return 200, {"file": content.decode("utf-8"), "filename": f"{batch.reference}.csv"}

    try:
        _, body = _once(request, scope="batch.export", fingerprint={"batch": batch.pk},
                        produce=produce)  # fmt: skip
    except _Answer as answer:
        return Status(answer.status, answer.body)
    return _file_response(content=str(body["file"]).encode("utf-8"), filename=body["filename"])


@router.get(
    "/ledger/batches/{batch_id}/file",
    response={200: None, **REFUSALS},
    openapi_extra={"responses": {200: {"description": "the bank payment file (CSV)",
                                       "content": {"text/csv": {}}}}},
)  # fmt: skip
def batch_file(request: HttpRequest, batch_id: int) -> HttpResponse | Status[dict[str, Any]]:
    """Download an exported batch's payment file again (finance officers); moves no money."""
    user = _caller(request)
    batch = selectors.batch_get_for_user(user=user, pk=batch_id)
    _require_payer(user)
    if batch.exported_at is None:
        return Status(400, _problem(f"批次 {batch.reference} 尚未导出",
                                    f"batch {batch.reference} has not been exported"))  # fmt: skip
    content = payments.batch_file(batch=batch)
    return _file_response(content=content, filename=f"{batch.reference}.csv")


def _upload_read(file: UploadedFile) -> bytes:
    limit = int(getattr(settings, "WOTU_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
    if (file.size or 0) > limit:
        raise _Answer(422, _problem(f"文件过大（{file.size:,} 字节），上限为 {limit:,} 字节",
                                    f"the file is too large ({file.size:,} bytes); the limit is"
                                    f" {limit:,} bytes"))  # fmt: skip
    return b"".join(file.chunks())


@router.post("/ledger/batches/{batch_id}/return", response={200: ReturnOut, **REFUSALS})
def bank_return(
    request: HttpRequest, batch_id: int, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    """Upload the bank's return file (CSV or XLSX: reference, status paid|failed, message
    [, amount]) for an exported batch: all rows or none; 422 lists every bad row."""
    user = _caller(request)
    batch = selectors.batch_get_for_user(user=user, pk=batch_id)
    _require_payer(user)
    try:
        data = _upload_read(file)
    except _Answer as answer:
        return Status(answer.status, answer.body)
    name = file.name or "return.csv"

    def produce(key: str) -> tuple[int, dict[str, Any]]:
        result = payments.bank_return_import(batch=batch, data=data, actor=user, key=key,
                                             name=name)  # fmt: skip
        return 200, result

    fingerprint = {"batch": batch.pk, "file": hashlib.sha256(data).hexdigest(), "name": name}
    return _guarded(request, scope="bank.return", fingerprint=fingerprint, produce=produce)


# --- exchange rates -----------------------------------------------------------------------


@router.get("/ledger/fx-rates", response={200: list[FxRateOut], **REFUSALS})
def fx_rate_list(request: HttpRequest, query: Query[FxQuery]) -> list[FxRate]:
    """Recorded rates (CNY per unit), newest first."""
    rates = selectors.fx_rate_list_for_user(user=_caller(request))
    if query.currency:
        rates = rates.filter(currency=query.currency)
    return list(rates.order_by("-date", "currency")[:2000])


@router.post("/ledger/fx-rates/import", response={200: FxImportOut, **REFUSALS})
def fx_rate_import(
    request: HttpRequest, file: File[UploadedFile], source: Form[str] = ""
) -> Status[dict[str, Any]]:
    """Import a rate table (CSV or XLSX: date, currency, rate[, source]); ``source`` names the
    source of rows without one. All rows or none; 422 lists every bad row (finance officers).
    Re-importing the same table changes nothing, so no idempotency key is needed."""
    user = _caller(request)
    _require_payer(user)
    try:
        data = _upload_read(file)
        result = fx_rates_import(data=data, name=file.name or "rates.csv", source=source,
                                 actor=user)  # fmt: skip
    except _Answer as answer:
        return Status(answer.status, answer.body)
    except FileRowsError as exc:
        return Status(422, _problem(exc.zh, exc.en, errors=[e.as_dict() for e in exc.errors]))
    except FileUnreadable as exc:
        return Status(422, _problem(exc.zh, exc.en, errors=[]))
    return Status(
        200, {"rows": result.rows, "created": result.created, "unchanged": result.unchanged}
    )


# --- commitments and tranches (read) ------------------------------------------------------


def _tranche_out(tranche: Tranche) -> dict[str, Any]:
    return {
        "id": tranche.pk, "commitment_id": tranche.commitment_id, "order": tranche.order,
        "due_on": tranche.due_on, "amount": tranche.amount, "milestone_id": tranche.milestone_id,
        "status": tranche.status, "payee": tranche.commitment.payee.name,
    }  # fmt: skip


def _commitment_out(commitment: Commitment) -> dict[str, Any]:
    return {
        "id": commitment.pk, "award_type": commitment.award_type,
        "award_id": commitment.award_id, "programme": commitment.programme.code,
        "year": commitment.year, "source": commitment.source.code,
        "payee_id": commitment.payee_id, "payee": commitment.payee.name,
        "amount": commitment.amount, "created_at": commitment.created_at,
        "tranches": [_tranche_out(t) for t in commitment.tranches.order_by("order")],
    }  # fmt: skip


@router.get("/ledger/commitments", response={200: list[CommitmentOut], **REFUSALS})
def commitment_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Commitments with their tranches: all for bureau and finance officers, an applicant's
    own organisation's only."""
    commitments = selectors.commitment_list_for_user(user=_caller(request))
    return [_commitment_out(c) for c in commitments.prefetch_related("tranches")[:1000]]


@router.get("/ledger/commitments/{commitment_id}", response={200: CommitmentOut, **REFUSALS})
def commitment_get(request: HttpRequest, commitment_id: int) -> dict[str, Any]:
    return _commitment_out(
        selectors.commitment_get_for_user(user=_caller(request), pk=commitment_id)
    )


@router.get("/ledger/tranches/payable", response={200: list[TrancheOut], **REFUSALS})
def tranche_payable_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Tranches ready for a new batch, earliest due first (finance officers)."""
    user = _caller(request)
    if not permissions.can_prepare_payments(user):
        raise PermissionDenied
    return [_tranche_out(t) for t in selectors.payable_tranches_for_user(user=user)[:5000]]


@router.post("/ledger/commitments/{commitment_id}/charges", response={201: ChargeOut, **REFUSALS})
def charge_book(request: HttpRequest, commitment_id: int, body: ChargeIn) -> Status[dict[str, Any]]:
    """Book a bank charge (CNY) to the commitment's project budget (finance officers;
    Idempotency-Key)."""
    user = _caller(request)
    commitment = selectors.commitment_get_for_user(user=user, pk=commitment_id)
    _require_payer(user)

    def produce(key: str) -> tuple[int, dict[str, Any]]:
        entry = payments.charge_book(
            commitment=commitment, amount=body.amount, actor=user, key=key, memo=body.memo
        )
        return 201, {"entry": entry.pk, "commitment": commitment.pk, "amount": body.amount}

    fingerprint = {"commitment": commitment.pk, "amount": body.amount, "memo": body.memo}
    return _guarded(request, scope="charge.book", fingerprint=fingerprint, produce=produce)
