"""Application attachments: what a file is, judged by its content, never by its name.

The contract (issue 4): a PDF may be up to 20 MB, every other accepted kind up to 10 MB
(1 MB = 1,048,576 bytes). Accepted kinds:

* ``pdf``  — starts with ``%PDF-``;
* ``png``, ``jpeg`` — their signatures;
* ``xlsx``, ``docx`` — a ZIP whose *central directory* lists ``[Content_Types].xml`` and an
  ``xl/`` (Excel) or ``word/`` (Word) part, and no macros (``vbaProject.bin``);
* ``csv``, ``txt`` — the whole file is UTF-8 without NUL bytes (``csv`` when so named).

Refused: empty files, files over the limit, executables (PE ``MZ``, ELF, Mach-O, ``#!``
scripts), HTML and SVG (scripts in them would run on our domain: XSS), other ZIP archives,
old-format or password-protected Office files, and anything else. A name whose extension
promises one accepted kind while the content is another (``report.pdf`` holding a PNG) is
refused too, saying so, because reviewers open files by their names.

:func:`attachment_sniff` reads a seekable file object (it needs the end of a ZIP and the whole
of a text file); :func:`attachment_check` works on bytes already in memory. Neither trusts the
name for anything but the wording of its messages and choosing ``csv`` over ``txt``. Files are
stored under :func:`attachment_store_name` (the SHA-256 of the content, no user path parts) and
shown under :func:`attachment_display_name`.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.core.files.uploadedfile import UploadedFile

from wotu.core.errors import WotuError
from wotu.organisations.uploads import MAGIC, _csv_problem

MB = 1024 * 1024
PDF_LIMIT = 20 * MB
OTHER_LIMIT = 10 * MB
HEAD_BYTES = 8192  # what the magic and markup checks look at

KINDS = ("pdf", "png", "jpeg", "xlsx", "docx", "csv", "txt")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    # The charset is explicit so that no browser guesses one (UTF-7 sniffing was an XSS vector).
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
#: Each kind in a sentence: (zh, en with its article).
LABELS = {
    "pdf": ("PDF", "a PDF"),
    "png": ("PNG 图片", "a PNG image"),
    "jpeg": ("JPEG 图片", "a JPEG image"),
    "xlsx": ("Excel 工作簿（.xlsx）", "an Excel workbook (.xlsx)"),
    "docx": ("Word 文档（.docx）", "a Word document (.docx)"),
    "csv": ("CSV 文本文件", "a CSV text file"),
    "txt": ("文本文件", "a text file"),
}
#: Content that is never accepted, and why.
REFUSED = {
    "executable": (
        "可执行程序，可能含有恶意代码",
        "an executable program, which may carry malicious code",
    ),
    "markup": (
        "网页或 SVG 图形（HTML/SVG），其中的脚本会在本站运行（XSS 风险）",
        "a web page or SVG drawing (HTML/SVG), whose scripts would run on this site (XSS risk)",
    ),
    "zip": (
        "ZIP 压缩包，但不是 Excel（.xlsx）或 Word（.docx）文档",
        "a ZIP archive that is not an Excel (.xlsx) or Word (.docx) document",
    ),
    "damaged-zip": (
        "已损坏的 ZIP/Office 文件，无法读取其目录",
        "a damaged ZIP/Office file whose directory cannot be read",
    ),
    "macro": (
        "含宏的 Office 文档（.xlsm/.docm），宏可能含有恶意代码：请另存为 .xlsx/.docx",
        "an Office document with macros (.xlsm/.docm), which may carry malicious code: "
        "save it as .xlsx/.docx",
    ),
    "ole": (
        "旧版（.xls/.doc）或加密的 Office 文档：请另存为不加密的 .xlsx/.docx",
        "an old-format (.xls/.doc) or password-protected Office document: "
        "save it as .xlsx/.docx without a password",
    ),
    "unknown": ("无法识别的内容", "unrecognised content"),
}
ACCEPTED_ZH = "可接受 PDF（≤ 20 MB）以及 PNG、JPEG、XLSX、DOCX、CSV、TXT（≤ 10 MB）"
ACCEPTED_EN = "accepted are PDF (≤ 20 MB) and PNG, JPEG, XLSX, DOCX, CSV, TXT (≤ 10 MB)"

_SUFFIX_KINDS = {
    "pdf": "pdf",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "xlsx": "xlsx",
    "docx": "docx",
    "csv": "csv",
    "txt": "txt",
}
# Names refused whatever they hold: defence in depth for whoever later downloads the file.
_SUFFIX_REFUSED = {
    **dict.fromkeys(("html", "htm", "xhtml", "shtml", "svg", "svgz", "js", "mjs"), "markup"),
    **dict.fromkeys(
        ("exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs", "sh", "jar", "apk"),
        "executable",
    ),
}
_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, both byte orders, 32 and 64 bit
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"#!",  # a script with an interpreter line
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = MAGIC["xlsx"]
# What browsers take for markup when they sniff; looked for in the first bytes of text.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AttachmentInfo:
    """An accepted file: its kind (one of :data:`KINDS`), the content type to serve it with, and
    its size in bytes."""

    kind: str
    content_type: str
    size: int


def attachment_sniff(*, fileobj: IO[bytes], name: str, size: int) -> AttachmentInfo:
    """What ``fileobj`` holds, or :class:`WotuError` saying why it is refused.

    ``fileobj`` must be seekable (a Django upload's ``.file`` is); it is read from the start and
    left at an unspecified position. ``size`` is the upload's size in bytes; ``name`` the name
    the user gave, used only for messages and for ``csv`` over ``txt``.
    """
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    return _attachment_classify(name=name, head=head, size=size, fileobj=fileobj)


def attachment_check(*, name: str, data_head: bytes, size: int) -> AttachmentInfo:
    """Like :func:`attachment_sniff`, for bytes in memory.

    When ``data_head`` holds the whole file (``len(data_head) >= size``) the check is complete.
    When it holds only the first bytes (at least :data:`HEAD_BYTES` of them), text is judged by
    those bytes alone, and a ZIP cannot be judged at all (its directory is at the end): that
    raises ``ValueError``, a programming error — use :func:`attachment_sniff`.
    """
    if len(data_head) >= size:
        whole = io.BytesIO(data_head[: max(size, 0)])
        return attachment_sniff(fileobj=whole, name=name, size=size)
    return _attachment_classify(name=name, head=data_head[:HEAD_BYTES], size=size, fileobj=None)


def attachment_digest(*, fileobj: IO[bytes]) -> str:
    """The SHA-256 of the whole of ``fileobj`` (read from the start), as 64 hex digits."""
    fileobj.seek(0)
    digest = hashlib.sha256()
    while chunk := fileobj.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def attachment_store_name(*, digest: str, info: AttachmentInfo) -> str:
    """Where to store a file: ``ab/<sha256>.<ext>``, from the content's digest and kind only.

    Nothing the user typed reaches the path, so no name can escape the storage folder or
    overwrite another file; equal contents share one name.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"not a lowercase SHA-256 hex digest: {digest!r}")
    if info.kind not in KINDS:
        raise ValueError(f"not an attachment kind: {info.kind!r}")
    extension = "jpg" if info.kind == "jpeg" else info.kind
    return f"{digest[:2]}/{digest}.{extension}"


def attachment_display_name(*, name: str) -> str:
    """The user's file name fit to show and to offer for download: the last path part only,
    NFC-normalised, without control characters or quotes, at most 100 characters (the
    extension kept); ``attachment`` when nothing is left."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = _CONTROL.sub("", base).replace('"', "").strip().lstrip(".")
    if len(base) > 100:
        suffix = PurePosixPath(base).suffix[:20]
        base = base[: 100 - len(suffix)] + suffix
    return base or "attachment"


# -- the checks ----------------------------------------------------------------------------------


def _attachment_classify(
    *, name: str, head: bytes, size: int, fileobj: IO[bytes] | None
) -> AttachmentInfo:
    shown = attachment_display_name(name=name)
    if size <= 0 or not head:
        raise WotuError(f"文件 “{shown}” 为空", f"the file '{shown}' is empty")
    if size > PDF_LIMIT:
        raise _too_large(shown, size, PDF_LIMIT, "PDF；其他类型为 10 MB", "any attachment")
    suffix = PurePosixPath(shown.lower()).suffix.lstrip(".")
    if suffix in _SUFFIX_REFUSED:
        zh, en = REFUSED[_SUFFIX_REFUSED[suffix]]
        raise WotuError(
            f"不接受扩展名为 .{suffix} 的文件 “{shown}”：这类文件是{zh}。{ACCEPTED_ZH}",
            f"files named .{suffix} are refused ('{shown}'): such a file is {en}; {ACCEPTED_EN}",
        )
    found = _binary_kind(head, fileobj)
    expected = _SUFFIX_KINDS.get(suffix)
    if found is None:
        found = _text_kind(shown, head, size, fileobj, expected)
    if expected is not None and found != expected:
        raise _misnamed(shown, suffix, expected, found)
    if found in REFUSED:
        zh, en = REFUSED[found]
        raise WotuError(
            f"不接受文件 “{shown}”：{zh}。{ACCEPTED_ZH}",
            f"the file '{shown}' is refused: it is {en}; {ACCEPTED_EN}",
        )
    limit = PDF_LIMIT if found == "pdf" else OTHER_LIMIT
    if size > limit:
        raise _too_large(shown, size, limit, *LABELS[found])
    return AttachmentInfo(kind=found, content_type=CONTENT_TYPES[found], size=size)


def _binary_kind(head: bytes, fileobj: IO[bytes] | None) -> str | None:
    """The kind by signature, a key of REFUSED, or None for no known signature (maybe text)."""
    if head.startswith(_EXECUTABLE_MAGIC):
        return "executable"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head.startswith(_ZIP_MAGIC):
        if fileobj is None:
            raise ValueError("a ZIP is judged by its directory at the end: use attachment_sniff")
        return _office_kind(fileobj)
    return None


def _office_kind(fileobj: IO[bytes]) -> str:
    """xlsx or docx from the ZIP central directory; only the directory is read, never a member,
    so a ZIP bomb costs nothing."""
    try:
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            names = archive.namelist()
    except Exception:  # any failure to parse an untrusted archive means "damaged", nothing more
        return "damaged-zip"
    if "[Content_Types].xml" not in names:
        return "zip"
    if any(part.rsplit("/", 1)[-1].lower() == "vbaproject.bin" for part in names):
        return "macro"
    if any(part.startswith("xl/") for part in names):
        return "xlsx"
    if any(part.startswith("word/") for part in names):
        return "docx"
    return "zip"


def _text_kind(
    shown: str, head: bytes, size: int, fileobj: IO[bytes] | None, expected: str | None
) -> str:
    """``csv``/``txt`` for UTF-8 text without NUL bytes, ``markup`` for HTML/SVG, else
    ``unknown`` — or, for a file named .csv/.txt, a :class:`WotuError` saying what is wrong
    with its text (the likely mistake is an encoding, and the user can fix that)."""
    kind = "csv" if expected == "csv" else "txt"
    if expected == "csv" and fileobj is not None:
        problem = _csv_problem(UploadedFile(file=fileobj, name=shown, size=size))
    else:
        problem = _text_problem(head if fileobj is None else fileobj, whole=fileobj is not None)
    if problem is not None:
        if expected in ("csv", "txt"):
            raise WotuError(f"文件 “{shown}”：{problem[0]}", f"the file '{shown}': {problem[1]}")
        return "unknown"
    if _MARKUP.search(head[:1024]):
        return "markup"
    return kind


def _text_problem(source: bytes | IO[bytes], *, whole: bool) -> tuple[str, str] | None:
    """Why ``source`` is not UTF-8 text without NUL bytes; None when it is. With ``whole``
    False, ``source`` is only the first bytes of a file (a character cut at the end is fine)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    stream.seek(0)
    offset = 0
    try:
        while chunk := stream.read(1024 * 1024):
            if b"\x00" in chunk:
                return (
                    f"第 {offset + chunk.index(0) + 1} 字节是 NUL，不是文本文件",
                    f"byte {offset + chunk.index(0) + 1} is NUL: this is not a text file",
                )
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=whole)
    except UnicodeDecodeError as exc:
        at = offset + exc.start + 1
        return (
            f"不是 UTF-8 编码的文本（第 {at} 字节）：请另存为 UTF-8",
            f"not UTF-8 text (byte {at}): save it as UTF-8",
        )
    return None


def _misnamed(shown: str, suffix: str, expected: str, found: str) -> WotuError:
    want_zh, want_en = LABELS[expected]
    is_zh, is_en = LABELS.get(found) or REFUSED[found]
    return WotuError(
        f"文件 “{shown}” 名为 .{suffix} 但内容不是 {want_zh}（实际为：{is_zh}）："
        "请上传正确的文件，或改正扩展名",
        f"the file '{shown}' is named .{suffix} but content is not {want_en} (it is {is_en}): "
        "upload the right file or correct its extension",
    )


def _too_large(shown: str, size: int, limit: int, label_zh: str, label_en: str) -> WotuError:
    return WotuError(
        f"文件 “{shown}” 大小为 {_mb(size)} MB（{size:,} 字节），超过上限 "
        f"{limit // MB} MB（{label_zh}）",
        f"the file '{shown}' is {_mb(size)} MB ({size:,} bytes), over the {limit // MB} MB "
        f"limit for {label_en}",
    )


def _mb(size: int) -> str:
    return f"{size / MB:.1f}"
