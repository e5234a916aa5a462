"""Attachment extraction against the bare library call on the same files: time per page for PDF and DOCX.

    .venv/bin/python bench/extract.py [--pages 20] [--rounds 15]

Files: a PDF and a DOCX of the sample guideline's text repeated to `--pages` pages (the PDF made with fpdf2 and the
Noto CJK font as samples/make_guidance_attachments.py makes them; the DOCX made with python-docx, its length
matched to the PDF's characters and counted in parts of tracker.extract.readers.PART_CHARS). Written to bench/out/.

| measurement | what runs |
| --- | --- |
| bare PDF | `pypdf.PdfReader(BytesIO(data))` and `page.extract_text()` for every page, in this process |
| bare DOCX | `docx.Document(BytesIO(data))` and the text of every paragraph, in this process |
| tracker | `tracker.extract.worker.Extractor.extract(data, kind)`: the reused guarded worker (pipe transfer, byte, page and ZIP caps, format sniffing, reflow of PDF lines, parts) — one worker for all rounds, as a run uses one |

Rounds are interleaved (bare, tracker, bare, …) so load that drifts weighs on both; medians are reported, with the
load average before and after (the machine is shared). Goal (issue 16): tracker / bare ≤ 1.5.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

OUT = ROOT / "bench" / "out"


def make_files(pages: int) -> tuple[bytes, bytes]:
    """A PDF of about `pages` pages and a DOCX of the same text (made once, kept in bench/out/)."""
    import make_guidance_attachments as sample

    pdf_path, docx_path = OUT / f"extract_bench_{pages}.pdf", OUT / f"extract_bench_{pages}.docx"
    if not pdf_path.exists() or not docx_path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        # The final's chapters repeated until the PDF has the pages asked for (the sample runs about 2 pages).
        structure = [(f"{chapter}（{n + 1}）", articles) for n in range(pages // 2 + 1)
                     for chapter, articles in sample.FINAL]
        sample.write_pdf(pdf_path, structure, draft=False)
        sample.write_docx(docx_path, structure, draft=False)
    return pdf_path.read_bytes(), docx_path.read_bytes()


def bare_pdf(data: bytes) -> int:
    """Every page's text with pypdf; returns the page count."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    texts = [page.extract_text() for page in reader.pages]
    return len(texts)


def bare_docx(data: bytes) -> int:
    """Every paragraph's text with python-docx; returns the character count."""
    import docx

    return sum(len(p.text) for p in docx.Document(io.BytesIO(data)).paragraphs)


def main() -> None:
    """Measure and print per-page times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from tracker.extract.worker import Extractor

    pdf, docx_bytes = make_files(args.pages)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {k: [] for k in ("bare pdf", "tracker pdf", "bare docx", "tracker docx")}
    with Extractor() as extractor:
        first = extractor.extract(pdf, "pdf")  # starts the worker and imports its libraries (once per run)
        docx_result = extractor.extract(docx_bytes, "docx")
        pdf_pages, docx_parts = len(first.pages), len(docx_result.pages)
        bare_pdf(pdf), bare_docx(docx_bytes)
        for _ in range(args.rounds):
            for name, call in (("bare pdf", lambda: bare_pdf(pdf)),
                               ("tracker pdf", lambda: extractor.extract(pdf, "pdf")),
                               ("bare docx", lambda: bare_docx(docx_bytes)),
                               ("tracker docx", lambda: extractor.extract(docx_bytes, "docx"))):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    load_after = os.getloadavg()
    print(f"PDF: {len(pdf):,} bytes, {pdf_pages} pages ({first.state}); DOCX: {len(docx_bytes):,} bytes, "
          f"{docx_parts} parts of ≤3,000 characters ({docx_result.state}); {args.rounds} rounds")
    print(f"{'measurement':14} {'median ms':>10} {'best ms':>9} {'ms/page':>8}")
    for name, values in times.items():
        per = pdf_pages if "pdf" in name else docx_parts
        print(f"{name:14} {statistics.median(values) * 1000:10.1f} {min(values) * 1000:9.1f} "
              f"{statistics.median(values) * 1000 / per:8.2f}")
    for kind in ("pdf", "docx"):
        ratio = statistics.median(times[f"tracker {kind}"]) / statistics.median(times[f"bare {kind}"])
        print(f"ratio tracker/bare {kind.upper()}: {ratio:.2f} (goal ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    print("load average before: %.2f %.2f %.2f, after: %.2f %.2f %.2f" % (*load_before, *load_after))


if __name__ == "__main__":
    main()
