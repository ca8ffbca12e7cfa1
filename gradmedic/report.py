"""Self-contained HTML reports: one file with every picture embedded, viewable offline.

A report is a title and a list of :class:`Section` s.  Every piece of text that can come from a user
(run names, spec values, CSV column names, messages quoting them) is escaped; PNGs are embedded as
base64 ``data:`` URIs so the file can be mailed or opened from a USB stick.
"""

from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;padding:18px 28px;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-bottom:1em}p{margin:.4em 0}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5em 0;display:block}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 9px;text-align:right}th{background:#f4f4f6}td:first-child,th:first-child{text-align:left}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}
.finding{border-left:4px solid #c62828;background:#fdf3f3;padding:6px 12px;margin:.6em 0}
.finding.warning{border-color:#e6a100;background:#fdf9ec}.finding.critical{border-color:#7b0000}
.finding ol{margin:.3em 0}.dim{color:#666}code{background:#f2f2f4;padding:0 3px;border-radius:3px}
.healthy{border-left:4px solid #1a7f37;background:#f1f9f3;padding:6px 12px}
"""


@dataclass
class Section:
    title: str
    text: str = ""  # plain text; blank lines separate paragraphs
    images: list[Path] = field(default_factory=list)  # PNG files, embedded
    table: list[list[Any]] | None = None  # first row is the header
    checks: dict[str, bool] | None = None  # expected outcome -> did it happen
    findings: list[dict[str, Any]] | None = None  # Diagnosis.to_dict()["findings"]; [] means healthy


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return esc(f"{v:.4g}")
    return esc("" if v is None else v)


def _png(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{esc(Path(path).stem)}" src="data:image/png;base64,{data}">'


def _findings(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return '<div class="healthy">No problems found: the doctor stays silent on healthy training.</div>'
    out = []
    for f in findings:
        layers = ", ".join(f.get("layers") or [])
        head = (f"<b>{esc(f['problem'])}</b> <span class=dim>({esc(f['severity'])})</span>"
                + (f" in {esc(layers)}" if layers else "")
                + f", since step {esc(f['step'])} (sure at step {esc(f['detected_at'])})")
        rem = "".join(f"<li>{esc(r['change'])} <span class=dim>({esc(r['source'])})</span>"
                      + (" <code>" + esc(" ".join(f"--{k.replace('_', '-')} {v}" for k, v in r["spec_change"].items()))
                         + "</code>" if r.get("spec_change") else "") + "</li>" for r in f.get("remedies", []))
        ev = json.dumps(f.get("evidence", {}), default=str)
        out.append(f'<div class="finding {esc(f["severity"])}">{head}<p>{esc(f["message"])}</p>'
                   f'<details><summary>evidence</summary><code>{esc(ev)}</code></details>'
                   + (f"<ol>{rem}</ol>" if rem else "") + "</div>")
    return "\n".join(out)


def render(title: str, sections: list[Section], subtitle: str = "") -> str:
    """The report as one HTML string."""
    body = [f"<h1>{esc(title)}</h1>",
            f'<div class="sub">{esc(subtitle)}{" · " if subtitle else ""}gradmedic report, {esc(time.strftime("%Y-%m-%d %H:%M"))}</div>']
    for s in sections:
        body.append(f"<h2>{esc(s.title)}</h2>")
        for para in (p for p in s.text.split("\n\n") if p.strip()):
            body.append(f"<p>{esc(para)}</p>")
        if s.checks:
            body.append("<ul>" + "".join(
                f'<li><span class="{"ok" if ok else "bad"}">{"as expected" if ok else "NOT as expected"}</span>: {esc(k)}</li>'
                for k, ok in s.checks.items()) + "</ul>")
        if s.table:
            head, *rows = s.table
            body.append("<table><tr>" + "".join(f"<th>{_cell(h)}</th>" for h in head) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
        if s.findings is not None:
            body.append(_findings(s.findings))
        for img in s.images:
            if Path(img).is_file():
                body.append(_png(img))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(path: str | Path, title: str, sections: list[Section], subtitle: str = "") -> Path:
    """Write ``render(...)`` to ``path`` (a directory gets ``report.html``); return the file."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(title, sections, subtitle), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report
    return path
