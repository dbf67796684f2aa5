"""Rich displays in Jupyter: minigrad's plain-text reports as HTML tables (their text stays the one source)."""

from __future__ import annotations

import html
import re

__all__ = ["report_html"]

_COLUMNS = re.compile(r"\s{2,}")


def report_html(text: str) -> str:
    """A report — a title line, a table whose columns are 2+ spaces apart, then notes — as HTML; rows saying FAIL in red."""
    lines = text.rstrip("\n").splitlines()
    if not lines:
        return "<pre></pre>"
    title, rest = lines[0], lines[1:]
    header = _COLUMNS.split(rest[0].strip()) if rest else []
    rows = []
    for line in rest[1:]:
        cells = _COLUMNS.split(line.strip())
        if len(cells) != len(header) or line.startswith(" "):
            break
        rows.append(cells)
    notes = rest[1 + len(rows):] if header else rest
    if len(header) < 2:  # not a table after all
        rows, notes, header = [], rest, []
    parts = [f"<div><p><b>{html.escape(title)}</b></p>"]
    if header:
        parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for cells in rows:
            style = ' style="color:#c00"' if "FAIL" in cells else ""
            parts.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
    if notes:
        parts.append("<pre>" + html.escape("\n".join(notes)) + "</pre>")
    parts.append("</div>")
    return "".join(parts)
