"""Uploaded files: checked by extension, size and content before anything reads them."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from wotu.organisations.facts_io import TableFileError, table_format

MAGIC = {"xlsx": b"PK\x03\x04", "parquet": b"PAR1"}


def upload_problem(upload: UploadedFile[bytes], filename: str) -> tuple[str, str] | None:
    """Why this upload cannot be a facts file, in Chinese and English; None when it may be."""
    try:
        fmt = table_format(filename)
    except TableFileError as exc:
        return exc.zh, exc.en
    size, limit = upload.size or 0, settings.WOTU_MAX_UPLOAD_BYTES
    if size > limit:
        return (
            f"文件过大（{size:,} 字节），上限为 {limit:,} 字节",
            f"the file is too large ({size:,} bytes); the limit is {limit:,} bytes",
        )
    if size == 0:
        return "文件为空", "the file is empty"
    if fmt == "csv":
        return _csv_problem(upload)
    upload.seek(0)
    if upload.read(len(MAGIC[fmt])) != MAGIC[fmt]:
        return (
            f"文件内容不是 {fmt.upper()} 格式，与扩展名 .{fmt} 不符",
            f"the content is not {fmt.upper()}, although the name ends in .{fmt}",
        )
    return None


def _csv_problem(upload: UploadedFile[bytes]) -> tuple[str, str] | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        for chunk in upload.chunks():
            if b"\x00" in chunk:
                return (
                    "CSV 文件含有二进制内容（NUL 字节），不是文本文件",
                    "the CSV file holds binary content (NUL bytes); it is not a text file",
                )
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return (
            f"CSV 文件不是 UTF-8 编码（第 {offset + exc.start} 字节）："
            "请在 Excel 中另存为“CSV UTF-8”",
            f"the CSV file is not UTF-8 (byte {offset + exc.start}): save it as 'CSV UTF-8'",
        )
    return None


@contextmanager
def saved_upload(upload: UploadedFile[bytes], suffix: str) -> Iterator[Path]:
    """The upload copied to a private temporary file (the readers choose format by suffix)."""
    with tempfile.TemporaryDirectory(prefix="wotu-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as target:
            for chunk in upload.chunks():
                target.write(chunk)
        yield path
