"""Writes to the registry: importing and editing yearly facts.

An import is all or nothing: the file is read and validated completely before anything is
written, and the writes run in one transaction. Writes are bulk upserts — a handful of queries
per thousand rows, never one per row — and rows whose values did not change are not written,
so importing the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from wotu.core.models import User
from wotu.organisations.facts import (
    COLUMN_NAMES,
    FactError,
    Validated,
    facts_validate,
)
from wotu.organisations.facts_io import Table, TableFileError, table_read
from wotu.organisations.models import EnterpriseYear, ImportBatch, Kind, Organisation, Region
from wotu.organisations.uploads import saved_upload, upload_problem

ORG_FIELDS = ("name", "district_code", "registered_on", "sector", "manufacturing")
FACT_FIELDS = tuple(n for n in COLUMN_NAMES if n != "uscc")
BATCH_SIZE = 2000
KIND_ZH = {"enterprise": "企业", "university": "高校", "institute": "科研院所", "bank": "银行"}
Progress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    filename: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organisations_created: int = 0
    organisations_updated: int = 0
    errors: list[FactError] = field(default_factory=list)
    file_error: tuple[str, str] | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors


def facts_import(
    *,
    path: Path,
    filename: str | None = None,
    user: User | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate and load a facts file. Nothing is written unless every row is valid."""
    result = ImportResult(filename=filename or path.name)
    try:
        table = table_read(path)
    except TableFileError as exc:
        result.file_error = (exc.zh, exc.en)
        return result
    return facts_import_table(
        table=table, result=result, digest=_sha256(path), user=user, progress=progress
    )


def facts_import_upload(*, upload: UploadedFile[bytes], user: User | None) -> ImportResult:
    """Import an uploaded facts file (web form or API) after checking its name, size and content.

    The caller checks that ``user`` may import (``permissions.can_import_facts``).
    """
    filename = PurePath(upload.name or "").name
    problem = upload_problem(upload, filename)
    if problem is not None:
        return ImportResult(filename=filename, file_error=problem)
    with saved_upload(upload, PurePath(filename).suffix.lower()) as path:
        return facts_import(path=path, filename=filename, user=user)


def facts_import_table(
    *,
    table: Table,
    result: ImportResult,
    digest: str,
    user: User | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    if progress:
        progress("validate", 0, table.height)
    validated = facts_validate(table)
    result.rows = table.height
    result.warnings = validated.warnings
    if validated.errors:
        result.errors = validated.errors
        return result
    result.errors = _not_enterprises(validated.records)
    if result.errors:
        return result
    with transaction.atomic():
        _write(validated, result, user=user, digest=digest, progress=progress)
    return result


def _not_enterprises(records: list[dict[str, Any]]) -> list[FactError]:
    """Facts are enterprise facts: a USCC that belongs to a bank or a university is refused."""
    usccs = sorted({r["uscc"] for r in records})
    others: dict[str, str] = {}
    for start in range(0, len(usccs), 900):
        others.update(
            Organisation.objects.filter(uscc__in=usccs[start : start + 900])
            .exclude(kind=Kind.ENTERPRISE)
            .values_list("uscc", "kind")  # type: ignore[arg-type]  # uscc__in excludes NULL
        )
    return [
        FactError(index + 2, "uscc", r["uscc"],
                  f"该代码属于登记为“{KIND_ZH[others[r['uscc']]]}”的机构，不是企业，不能登记企业年度数据",
                  f"this code belongs to a registered {others[r['uscc']]}, not an enterprise;"
                  " enterprise-year facts cannot be recorded for it")
        for index, r in enumerate(records)
        if r["uscc"] in others
    ]  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(
    validated: Validated,
    result: ImportResult,
    *,
    user: User | None,
    digest: str,
    progress: Progress | None,
) -> None:
    records = validated.records
    org_ids = _organisations_upsert(records, result)
    existing = _existing_facts(org_ids.values(), {r["year"] for r in records})
    changed: list[EnterpriseYear] = []
    for record in records:
        org_id = org_ids[record["uscc"]]
        values = {name: record[name] for name in FACT_FIELDS}
        before = existing.get((org_id, record["year"]))
        if before is None:
            result.created += 1
        elif _same(before, values, validated.present):
            result.unchanged += 1
            continue
        else:
            result.updated += 1
            # Columns absent from the file keep what the registry already had.
            for name in FACT_FIELDS:
                if name not in validated.present:
                    values[name] = before[name]
        changed.append(EnterpriseYear(organisation_id=org_id, **values))
    if not changed and not result.organisations_created and not result.organisations_updated:
        return  # nothing to record: the registry already says exactly what the file says
    batch = ImportBatch.objects.create(
        filename=result.filename[:255],
        sha256=digest,
        rows=len(records),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        imported_by=user,
    )
    result.batch_id = batch.pk
    total = len(changed)
    for start in range(0, total, BATCH_SIZE):
        chunk = changed[start : start + BATCH_SIZE]
        for row in chunk:
            row.batch = batch
        EnterpriseYear.objects.bulk_create(
            chunk,
            update_conflicts=True,
            unique_fields=["organisation", "year"],
            update_fields=[*FACT_FIELDS, "batch", "updated_at"],
        )
        if progress:
            progress("write", min(start + BATCH_SIZE, total), total)


def _same(before: dict[str, Any], values: dict[str, Any], present: frozenset[str]) -> bool:
    for name in FACT_FIELDS:
        if name not in present:
            continue
        old, new = before[name], values[name]
        if isinstance(old, Decimal) and isinstance(new, Decimal):
            if old.compare(new) != 0:
                return False
        elif old != new:
            return False
    return True


def _existing_facts(
    org_ids: Iterable[int], years: set[int]
) -> dict[tuple[int, int], dict[str, Any]]:
    ids = sorted(set(org_ids))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        rows = EnterpriseYear.objects.filter(
            organisation_id__in=ids[start : start + 900], year__in=sorted(years)
        ).values("organisation_id", *FACT_FIELDS)
        for row in rows:
            found[(row["organisation_id"], row["year"])] = row
    return found


def _organisations_upsert(records: list[dict[str, Any]], result: ImportResult) -> dict[str, int]:
    """Create missing enterprises; refresh name, district, sector… of known ones from the newest
    year in the file, unless the registry already holds a newer year for them."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        current = latest.get(record["uscc"])
        if current is None or record["year"] >= current["year"]:
            latest[record["uscc"]] = record
    known = _organisations_known(list(latest))
    newest_year = _newest_fact_year(row["id"] for row in known.values())
    now = timezone.now()
    new, refreshed = [], []
    for uscc, record in latest.items():
        values = {name: record[name] for name in ORG_FIELDS}
        row = known.get(uscc)
        if row is None:
            new.append(
                Organisation(uscc=uscc, kind=Kind.ENTERPRISE, region=Region.MAINLAND, **values)
            )
        elif record["year"] >= newest_year.get(row["id"], 0) and any(
            row[name] != values[name] for name in ORG_FIELDS
        ):
            refreshed.append(Organisation(id=row["id"], uscc=uscc, updated_at=now, **values))
    for start in range(0, len(new), BATCH_SIZE):
        Organisation.objects.bulk_create(new[start : start + BATCH_SIZE])
    if refreshed:
        Organisation.objects.bulk_update(refreshed, [*ORG_FIELDS, "updated_at"], batch_size=500)
    result.organisations_created = len(new)
    result.organisations_updated = len(refreshed)
    ids = {uscc: row["id"] for uscc, row in known.items()}
    created = _organisations_known([o.uscc for o in new if o.uscc])
    return ids | {uscc: row["id"] for uscc, row in created.items()}


def _organisations_known(usccs: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(usccs), 900):
        rows = Organisation.objects.filter(uscc__in=usccs[start : start + 900]).values(
            "id", "uscc", *ORG_FIELDS
        )
        found.update((row["uscc"], row) for row in rows)
    return found


def _newest_fact_year(org_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(org_ids))
    newest: dict[int, int] = {}
    for start in range(0, len(ids), 900):
        rows = (
            EnterpriseYear.objects.filter(organisation_id__in=ids[start : start + 900])
            .values("organisation_id")
            .annotate(newest=Max("year"))
        )
        newest.update((row["organisation_id"], row["newest"]) for row in rows)
    return newest


def facts_save_one(
    *, organisation: Organisation, year: int, values: dict[str, Any], user: User | None = None
) -> list[FactError]:
    """Create or replace one enterprise-year from raw values (a form or an API body).

    The values go through exactly the importer's validation (the row is reported as row 2);
    ``uscc`` and ``year`` come from the organisation and the URL, not from ``values``.
    Returns the problems found; nothing is written unless there are none. The caller checks
    that ``user`` may edit this organisation (see ``wotu.core.permissions``).
    """
    if not organisation.uscc:
        return [
            FactError(2, "uscc", "", "该机构没有统一社会信用代码，无法登记年度数据",
                      "this organisation has no USCC, so it cannot hold yearly facts")
        ]  # fmt: skip
    raw = {name: values.get(name) for name in COLUMN_NAMES}
    raw["uscc"], raw["year"] = organisation.uscc, year
    table = Table(header=list(COLUMN_NAMES), columns={k: [v] for k, v in raw.items()}, height=1)
    result = facts_import_table(
        table=table,
        result=ImportResult(filename=f"{organisation.uscc}-{year} (form)"),
        digest=hashlib.sha256(repr(sorted(raw.items())).encode()).hexdigest(),
        user=user,
    )
    return result.errors
