"""Makes the PDF files of this folder (run from the repository root with fpdf2 installed:
``python tests/data/office/make_pdfs.py``). The text is the opening of a real notice of the
People's Committee of Bắc Sơn district (tests/data/pages/bacson_2020-06-12.txt, public record).

- ``vanban.pdf``: Unicode Vietnamese text (DejaVu Sans, embedded subset), a title and a
  creation date in its metadata.
- ``tcvn3.pdf``: the same kind of text as a pre-Unicode file holds it: TCVN3 (ABC) bytes shown
  with a Latin-1 font, so the text layer reads as mojibake until it is converted.
- ``scan.pdf``: a page with only a drawing, no text layer, as a scanned document has.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = [
    "ỦY BAN NHÂN DÂN HUYỆN BẮC SƠN",
    "Bắc Sơn, ngày 12 tháng 6 năm 2020",
    "THÔNG BÁO",
    "Kết luận của Ban Chấp hành Đảng bộ huyện tại hội nghị sơ kết công tác xây dựng nông thôn mới.",
    "Huyện đã có 12 xã đạt chuẩn nông thôn mới; thu nhập bình quân đầu người tăng lên 38 triệu đồng.",
]


def _pdf(title: str | None) -> FPDF:
    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2020, 6, 12, 8, 0, tzinfo=dt.timezone.utc))
    if title:
        pdf.set_title(title)
    pdf.add_page()
    return pdf


def main() -> None:
    pdf = _pdf("Thông báo kết luận hội nghị sơ kết nông thôn mới")
    pdf.add_font("DejaVu", "", FONT)
    pdf.set_font("DejaVu", size=12)
    for line in LINES:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(HERE / "vanban.pdf"))

    # "Huyện Bắc Sơn tổ chức hội nghị" and more in TCVN3: each Vietnamese letter is one byte.
    pdf = _pdf(None)
    pdf.set_font("Helvetica", size=12)
    for line in ["HuyÖn B¾c S¬n tæ chøc héi nghÞ s¬ kÕt c«ng t¸c x©y dùng n«ng th«n míi.",
                 "C¸c x· ®· ®¹t chuÈn n«ng th«n míi, thu nhËp b×nh qu©n ®Çu ng­êi t¨ng."]:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(HERE / "tcvn3.pdf"))

    pdf = _pdf(None)
    pdf.rect(20, 20, 170, 250)
    pdf.line(30, 40, 180, 40)
    pdf.output(str(HERE / "scan.pdf"))


if __name__ == "__main__":
    main()
