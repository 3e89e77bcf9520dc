"""The public notice's list as files to download: Excel (.xlsx, openpyxl) and PDF (reportlab).

The PDF sets Chinese in reportlab's built-in CID font ``STSong-Light`` (Adobe's Asian font
pack names it; PDF readers supply the glyphs), so it needs no font file: bureau networks are
offline. Both files hold exactly the notice's published snapshot (never live data), with the
window dates and the total.
"""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from wotu.reviews.calendar import SHANGHAI
from wotu.reviews.fields import field_label
from wotu.reviews.models import Notice
from wotu.reviews.notice import notice_total

CJK_FONT = "STSong-Light"
HEADERS = (
    ("序号", "No."),
    ("项目编号", "Reference"),
    ("申报单位", "Lead organisation"),
    ("项目名称", "Project title"),
    ("领域", "Field"),
    ("拟资助金额（元）", "Proposed (CNY)"),
)
MONEY_FORMAT = "#,##0.00"


def _title(notice: Notice) -> str:
    return f"{notice.call.title} 拟资助项目公示"


def _window(notice: Notice) -> str:
    opens = notice.published_at.astimezone(SHANGHAI)
    closes = notice.closes_at.astimezone(SHANGHAI)
    return (
        f"公示期 / Notice window: {opens:%Y-%m-%d %H:%M} — {closes:%Y-%m-%d %H:%M}"
        f"（北京时间，{notice.working_days} 个工作日 / {notice.working_days} working days）"
    )


def notice_xlsx(*, notice: Notice) -> bytes:
    """The notice as one worksheet: title, window, a bilingual header row, one row per entry
    (amounts as numbers formatted to the fen), and the total."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "公示名单"
    sheet.append([_title(notice)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_window(notice)])
    sheet.append([f"{zh} {en}" for zh, en in HEADERS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for number, entry in enumerate(notice.entries, start=1):
        sheet.append(
            [
                number,
                entry["reference"],
                entry["organisation"],
                entry["title"],
                field_label(entry["field"]),
                Decimal(entry["amount"]),
            ]
        )
        sheet.cell(row=sheet.max_row, column=6).number_format = MONEY_FORMAT
    sheet.append(["", "", "", "", "合计 Total", notice_total(notice=notice)])
    total = sheet.cell(row=sheet.max_row, column=6)
    total.number_format = MONEY_FORMAT
    total.font = Font(bold=True)
    for column, width in zip("ABCDEF", (6, 18, 36, 48, 22, 18), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _font_register() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def notice_pdf(*, notice: Notice) -> bytes:
    """The notice as an A4 landscape PDF: title, window, the table (header repeated on each
    page) and the total. Chinese in the built-in STSong-Light CID font."""
    _font_register()
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=20, spaceAfter=4)
    rows: list[list[Paragraph | str]] = [[Paragraph(f"{zh}<br/>{en}", body) for zh, en in HEADERS]]
    for number, entry in enumerate(notice.entries, start=1):
        cells = [
            str(number),
            entry["reference"],
            entry["organisation"],
            entry["title"],
            field_label(entry["field"]),
            f"{Decimal(entry['amount']):,.2f}",
        ]
        rows.append([Paragraph(escape(cell), body) for cell in cells])
    total = f"{notice_total(notice=notice):,.2f}"
    rows.append([Paragraph(t, body) for t in ("", "", "", "", "合计 Total", total)])
    widths = [12 * mm, 38 * mm, 62 * mm, 90 * mm, 36 * mm, 34 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2ee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_title(notice),
        author="沃土 Wotu",
    )
    document.build(
        [
            Paragraph(escape(_title(notice)), title),
            Paragraph(escape(_window(notice)), body),
            Spacer(1, 4 * mm),
            table,
        ]
    )
    return buffer.getvalue()
