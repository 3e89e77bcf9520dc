"""Attachment checks: real tiny files of every kind, every refusal, and random bytes."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.programmes.attachments import (
    CONTENT_TYPES,
    KINDS,
    MB,
    AttachmentInfo,
    attachment_check,
    attachment_digest,
    attachment_display_name,
    attachment_sniff,
    attachment_store_name,
)

# -- tiny real files -----------------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def png_bytes() -> bytes:
    """A valid 1×1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


PNG = png_bytes()
# Start of image, a JFIF APP0 segment, end of image: how every camera JPEG begins and ends.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["名称", "金额"])
    workbook.active.append(["海纳机器人", 1200])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CONTENT_TYPES_XML = b'<?xml version="1.0"?><Types xmlns="x"/>'
XLSX = xlsx_bytes()
DOCX = zip_bytes(
    {
        "[Content_Types].xml": CONTENT_TYPES_XML,
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document><w:body><w:p/></w:body></w:document>",
    }
)
PPTX = zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "ppt/presentation.xml": b"<p/>"})
PLAIN_ZIP = zip_bytes({"notes.txt": b"hello"})
CSV = "\ufeff名称,金额\n海纳机器人,1200\n".encode()
TXT = "项目简介：面向港口的自动化巡检机器人。\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
SCRIPT = b"#!/bin/sh\necho hello\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def xlsm_bytes() -> bytes:
    """An Excel workbook with a macro project, as Excel saves .xlsm."""
    source = zipfile.ZipFile(io.BytesIO(XLSX))
    members = {name: source.read(name) for name in source.namelist()}
    return zip_bytes({**members, "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})


XLSM = xlsm_bytes()


def check(name: str, data: bytes, size: int | None = None) -> AttachmentInfo:
    return attachment_check(name=name, data_head=data, size=len(data) if size is None else size)


# -- accepted ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("申报书.pdf", PDF, "pdf"),
        ("photo.png", PNG, "png"),
        ("photo.jpg", JPEG, "jpeg"),
        ("photo.JPEG", JPEG, "jpeg"),
        ("预算表.xlsx", XLSX, "xlsx"),
        ("proposal.docx", DOCX, "docx"),
        ("名单.csv", CSV, "csv"),
        ("说明.txt", TXT, "txt"),
        ("README", TXT, "txt"),  # no extension: the content decides
        ("scan", PDF, "pdf"),
        ("scan.bin", PNG, "png"),  # an extension we do not know promises nothing
        ("C:\\fakepath\\预算表.xlsx", XLSX, "xlsx"),
    ],
)
def test_each_accepted_kind_is_recognised_by_its_content(name: str, data: bytes, kind: str) -> None:
    info = check(name, data)
    assert info == AttachmentInfo(kind=kind, content_type=CONTENT_TYPES[kind], size=len(data))
    assert attachment_sniff(fileobj=io.BytesIO(data), name=name, size=len(data)) == info


def test_text_is_served_with_an_explicit_utf8_charset() -> None:
    assert check("a.csv", CSV).content_type == "text/csv; charset=utf-8"
    assert check("a.txt", TXT).content_type == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("name", "data", "size"),
    [("big.pdf", PDF, 20 * MB), ("big.png", PNG, 10 * MB), ("big.csv", CSV, 10 * MB)],
)
def test_files_exactly_at_the_limit_are_accepted(name: str, data: bytes, size: int) -> None:
    # Given only the first bytes of a file of the declared size
    assert check(name, data, size).size == size


# -- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "size", "zh", "en"),
    [
        ("empty.pdf", b"", None, "为空", "is empty"),
        ("a.pdf", PNG, None, "名为 .pdf 但内容不是 PDF", "named .pdf but content is not a PDF"),
        ("a.pdf", TXT, None, "名为 .pdf 但内容不是 PDF", "named .pdf but content is not a PDF"),
        ("a.pdf", XLSX, None, "实际为：Excel", "it is an Excel workbook"),
        ("a.pdf", EXE, None, "名为 .pdf 但内容不是 PDF", "it is an executable program"),
        ("a.png", JPEG, None, "名为 .png 但内容不是 PNG", "it is a JPEG image"),
        ("a.docx", XLSX, None, "不是 Word 文档", "not a Word document (.docx)"),
        ("a.xlsx", DOCX, None, "不是 Excel 工作簿", "not an Excel workbook (.xlsx)"),
        ("setup", EXE, None, "可执行程序", "executable program"),
        ("tool", ELF, None, "可执行程序", "executable program"),
        ("run", SCRIPT, None, "可执行程序", "executable program"),
        ("setup.exe", PDF, None, "扩展名为 .exe", "files named .exe are refused"),
        ("page", HTML, None, "XSS", "XSS risk"),
        ("logo", SVG, None, "HTML/SVG", "HTML/SVG"),
        ("page.html", TXT, None, "扩展名为 .html", "files named .html are refused"),
        ("logo.svg", PNG, None, "扩展名为 .svg", "files named .svg are refused"),
        ("notes.txt", HTML, None, "网页或 SVG", "web page or SVG"),
        ("slides", PPTX, None, "不是 Excel（.xlsx）或 Word", "not an Excel (.xlsx) or Word"),
        ("archive.zip", PLAIN_ZIP, None, "ZIP 压缩包", "a ZIP archive"),
        ("broken", b"PK\x03\x04" + b"\x00" * 40, None, "已损坏", "damaged"),
        ("macros.xlsx", XLSM, None, "含宏", "with macros"),
        ("old.xls", OLE, None, "旧版", "old-format"),
        ("blob", bytes(range(256)) * 4, None, "无法识别", "unrecognised content"),
        ("table.csv", "名称,金额\n".encode("gbk"), None, "CSV UTF-8", "CSV UTF-8"),
        ("table.csv", b"a,b\n1,\x002\n", None, "NUL", "NUL"),
        ("notes.txt", "notes".encode("utf-16"), None, "NUL", "NUL"),
        ("notes.txt", "说明".encode("gbk"), None, "不是 UTF-8", "not UTF-8 text"),
        ("big.pdf", PDF, 20 * MB + 1, "20.0 MB（20,971,521 字节）", "over the 20 MB limit"),
        ("big.png", PNG, 10 * MB + 1, "超过上限 10 MB（PNG 图片）", "10 MB limit for a PNG image"),
        ("big.csv", CSV, 12 * MB, "12.0 MB", "is 12.0 MB (12,582,912 bytes), over the 10 MB"),
        ("huge.png", PNG, 30 * MB, "30.0 MB", "over the 20 MB limit for any attachment"),
    ],
)
def test_refusals_say_what_is_wrong_in_both_languages(
    name: str, data: bytes, size: int | None, zh: str, en: str
) -> None:
    with pytest.raises(WotuError) as refusal:
        check(name, data, size)
    assert zh in refusal.value.zh
    assert en in refusal.value.en


def test_a_refusal_names_the_file_without_its_folders() -> None:
    with pytest.raises(WotuError) as refusal:
        check("C:\\Users\\dave\\Desktop\\预算.pdf", PNG)
    assert "“预算.pdf”" in refusal.value.zh
    assert "Desktop" not in refusal.value.en


def test_a_real_file_over_the_limit_is_refused_when_sniffed() -> None:
    data = PDF + b"0" * (20 * MB)
    with pytest.raises(WotuError) as refusal:
        attachment_sniff(fileobj=io.BytesIO(data), name="a.pdf", size=len(data))
    assert "20 MB" in refusal.value.en


def test_an_office_file_over_ten_mb_is_refused() -> None:
    with pytest.raises(WotuError) as refusal:
        attachment_sniff(fileobj=io.BytesIO(XLSX), name="big.xlsx", size=12 * MB)
    assert "10 MB limit for an Excel workbook" in refusal.value.en


def test_the_whole_of_a_text_file_is_checked_not_only_its_head() -> None:
    data = b"a,b\n" * 5000 + "名称".encode("gbk")
    with pytest.raises(WotuError):
        attachment_sniff(fileobj=io.BytesIO(data), name="t.txt", size=len(data))


def test_the_head_of_a_zip_alone_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="attachment_sniff"):
        attachment_check(name="a.xlsx", data_head=XLSX[:100], size=len(XLSX))


# -- storing and showing ------------------------------------------------------------------------


def test_the_store_name_comes_from_the_content_only() -> None:
    info = check("../../etc/passwd.pdf", PDF)
    digest = attachment_digest(fileobj=io.BytesIO(PDF))
    name = attachment_store_name(digest=digest, info=info)
    assert digest == hashlib.sha256(PDF).hexdigest()
    assert name == f"{digest[:2]}/{digest}.pdf"
    assert ".." not in name and "passwd" not in name


def test_a_jpeg_is_stored_as_jpg() -> None:
    digest = hashlib.sha256(JPEG).hexdigest()
    assert attachment_store_name(digest=digest, info=check("p.jpeg", JPEG)).endswith(".jpg")


@pytest.mark.parametrize("digest", ["", "../x", "A" * 64, "0" * 63, "g" * 64])
def test_a_store_name_needs_a_real_digest(digest: str) -> None:
    with pytest.raises(ValueError):
        attachment_store_name(digest=digest, info=check("a.pdf", PDF))


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("C:\\fakepath\\申报书.pdf", "申报书.pdf"),
        ("../../etc/passwd", "passwd"),
        ('a"b\r\n.pdf', "ab.pdf"),
        (".htaccess", "htaccess"),
        ("", "attachment"),
        ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
    ],
)
def test_display_names_keep_only_a_safe_last_part(name: str, shown: str) -> None:
    assert attachment_display_name(name=name) == shown


# -- invariants ----------------------------------------------------------------------------------

NAMES = st.sampled_from(
    ["a.pdf", "a.png", "a.jpg", "a.xlsx", "a.docx", "a.csv", "a.txt", "a", "a.bin", "a.exe"]
)
PREFIXES = st.sampled_from(
    [b"", b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04", b"MZ", b"<svg", b"\xef"]
)


def sniff_or_refuse(name: str, data: bytes) -> AttachmentInfo | None:
    try:
        info = attachment_sniff(fileobj=io.BytesIO(data), name=name, size=len(data))
    except WotuError:
        return None
    assert info.kind in KINDS
    assert info.content_type == CONTENT_TYPES[info.kind]
    assert info.size == len(data)
    return info


@settings(max_examples=300)
@given(name=NAMES, prefix=PREFIXES, body=st.binary(max_size=2000))
def test_random_bytes_are_either_accepted_or_refused_never_a_crash(
    name: str, prefix: bytes, body: bytes
) -> None:
    info = sniff_or_refuse(name, prefix + body)
    # And a name that promises a kind is only ever accepted as that kind
    if info is not None and name.endswith(".pdf"):
        assert info.kind == "pdf"
    data = prefix + body
    whole = attachment_check(name=name, data_head=data, size=len(data)) if info else None
    assert whole == info


@settings(max_examples=200)
@given(data=st.data())
def test_damaged_office_files_are_refused_never_a_crash(data: st.DataObject) -> None:
    original = bytearray(data.draw(st.sampled_from([XLSX, DOCX, XLSM])))
    for _ in range(data.draw(st.integers(1, 8))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    sniff_or_refuse("a.xlsx", bytes(original[:cut]))
