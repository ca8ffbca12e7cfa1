"""Self-contained HTML reports: one file with every picture embedded, viewable offline.

A report is a title and a list of :class:`Section` s.  Every piece of text that can come from a user
(run names, spec values, CSV column names, messages quoting them) is escaped; PNGs are embedded as
base64 ``data:`` URIs so the file can be mailed or opened from a USB stick.  No JavaScript: a table
of contents of plain anchors, findings with their evidence and remedies, figures with captions
(small ones side by side).

``run_report(run_dir)`` is the report of one training run: what was trained, how it ended, the
doctor's findings and every picture of :func:`gradmedic.show.run.render_all`.
"""

from __future__ import annotations

import base64
import html
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradmedic.show.diagnosis import to_html as findings_html
from gradmedic.show.numbers import value

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;padding:18px 28px;
color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-bottom:1em;overflow-wrap:anywhere}p{margin:.4em 0}
nav.toc{background:#f7f7f9;border:1px solid #e4e4e8;padding:4px 16px;margin:.8em 0;display:inline-block}
nav.toc ol{margin:.2em 0;padding-left:1.4em}nav.toc a{color:#1f4e9c;text-decoration:none}
figure{margin:.7em 0}figure img{max-width:100%;height:auto;border:1px solid #eee;display:block}
figcaption{color:#555;font-size:.9em;margin-top:.2em}
.row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}.row figure{flex:1 1 420px;margin:.3em 0}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 9px;text-align:left}th{background:#f4f4f6}td.num{text-align:right}
table.kv td{text-align:left}table.kv td:first-child{color:#555;white-space:nowrap}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}
.finding{border-left:4px solid #c62828;background:#fdf3f3;padding:6px 12px;margin:.6em 0}
.finding.warning{border-color:#e6a100;background:#fdf9ec}.finding.critical{border-color:#7b0000}
.finding ol{margin:.3em 0}.finding table{font-size:.88em;margin:.3em 0;background:#fff}
.dim{color:#666}code{background:#f2f2f4;padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
.healthy{border-left:4px solid #1a7f37;background:#f1f9f3;padding:6px 12px}
"""

# What each picture of run.render_all shows, said once here so every report captions it the same way.
CAPTIONS = {
    "loss.png": "Loss of every step (grey), its running mean and the per-epoch train and test loss, with the loss of "
                "a constant prediction for reference; right: the metric after each epoch.",
    "grad_norms.png": "Each layer's gradient L2 norm over training (light: first layer, dark: last) and its median per "
                      "layer: a first layer far below the last is the vanishing picture of seed 004.",
    "grad_heatmap.png": "log10 of each layer's gradient norm (rows, input at the top) at each recorded step (columns); "
                        "grey: exactly 0, red: NaN/inf.",
    "activations.png": "Each activation layer's recorded output distribution at step 1 (the initial weights) and at the "
                       "last recorded step, with its mean and std (seed 002 Fig. 7.23/7.24).",
    "activation_stats.png": "Recorded activation mean, std and the shares of outputs at zero, saturated, and of units "
                            "silent for a whole batch, over training.",
    "activation_hist.png": "Each activation layer's recorded histogram over training (x: step, y: value, colour: share of "
                           "the sampled outputs in the bin, log scale), fastai's 'colorful dimension'.",
}
SMALL_PNG = 700  # px: figures at most this wide are placed side by side (two fit the 1180 px page)


@dataclass
class Section:
    title: str
    text: str = ""  # plain text; blank lines separate paragraphs
    images: list[Path] = field(default_factory=list)  # PNG files, embedded
    table: list[list[Any]] | None = None  # first row is the header; an all-empty header: a key/value table
    checks: dict[str, bool] | None = None  # expected outcome -> did it happen
    findings: list[dict[str, Any]] | None = None  # Diagnosis.to_dict()["findings"]; [] means healthy
    captions: dict[str, str] | None = None  # image file name -> caption (default: CAPTIONS)


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _is_num(v: Any) -> bool:
    """Numbers (and numbers given as text, like "0.848" or "-") are right-aligned; words left."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    t = str(v).strip().replace("±", "").replace(" ", "")
    try:
        float(t)
        return True
    except ValueError:
        return t in ("-", "nan", "inf")


def _td(v: Any) -> str:
    return f'<td class="num">{_cell(v)}</td>' if _is_num(v) else f"<td>{_cell(v)}</td>"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return esc(f"{v:.4g}")
    return esc("" if v is None else v)


def _png_width(path: Path) -> int:
    """Pixel width from the PNG header (bytes 16-20 of the IHDR chunk); 0 when it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">I", head[16:20])[0] if head[:8] == b"\x89PNG\r\n\x1a\n" else 0


def _figure(path: Path, caption: str | None) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(Path(path).stem)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _figures(images: list[Path], captions: dict[str, str] | None) -> str:
    """Each image as a captioned figure; runs of consecutive small ones share a row."""
    caps = {**CAPTIONS, **(captions or {})}
    out: list[str] = []
    row: list[str] = []
    for img in images:
        p = Path(img)
        if not p.is_file():
            continue
        fig = _figure(p, caps.get(p.name))
        if 0 < _png_width(p) <= SMALL_PNG:
            row.append(fig)
            continue
        if row:
            out.append('<div class="row">' + "".join(row) + "</div>")
            row = []
        out.append(fig)
    if row:
        out.append('<div class="row">' + "".join(row) + "</div>")
    return "\n".join(out)


def render(title: str, sections: list[Section], subtitle: str = "") -> str:
    """The report as one HTML string."""
    body = [f"<h1>{esc(title)}</h1>",
            f'<div class="sub">{esc(subtitle)}{" · " if subtitle else ""}gradmedic report, '
            f'{esc(time.strftime("%Y-%m-%d %H:%M"))}</div>']
    if len(sections) >= 3:  # a table of contents is worth its space from three sections on
        body.append('<nav class="toc"><b>Contents</b><ol>' + "".join(
            f'<li><a href="#s{i}">{esc(s.title)}</a></li>' for i, s in enumerate(sections, 1)) + "</ol></nav>")
    for i, s in enumerate(sections, 1):
        body.append(f'<h2 id="s{i}">{esc(s.title)}</h2>')
        for para in (p for p in s.text.split("\n\n") if p.strip()):
            body.append(f"<p>{esc(para)}</p>")
        if s.checks:
            body.append("<ul>" + "".join(
                f'<li><span class="{"ok" if ok else "bad"}">{"as expected" if ok else "NOT as expected"}</span>: {esc(k)}</li>'
                for k, ok in s.checks.items()) + "</ul>")
        if s.table:
            head, *rows = s.table
            kv = not any(str(h) for h in head)
            body.append(("<table class=kv>" if kv else "<table><tr>" + "".join(f"<th>{_cell(h)}</th>" for h in head) + "</tr>")
                        + "".join("<tr>" + "".join(_td(c) for c in r) + "</tr>" for r in rows) + "</table>")
        if s.findings is not None:
            body.append(findings_html(s.findings))
        if s.images:
            body.append(_figures(s.images, s.captions))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(path: str | Path, title: str, sections: list[Section], subtitle: str = "") -> Path:
    """Write ``render(...)`` to ``path`` (a directory gets ``report.html``); return the file."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / "report.html"
    return write_atomic(path, render(title, sections, subtitle))


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file of this process's own, then rename it: a reader never
    sees half a file, and two workers finishing together (tune's) each replace it whole instead of racing for one
    temporary name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


# -- the report of one training run -------------------------------------------------------------------

def _outcome_rows(run) -> list[list[Any]]:
    s = run.summary
    if not s:  # a killed run: what the records say
        h = run.history
        steps = int(h.loss_steps[-1]) if len(h.loss_steps) else 0
        rows = [["status", "killed: no summary.json, shown from what was recorded"], ["steps recorded", steps],
                ["epochs finished", len(run.epochs)]]
        if run.epochs:
            e = run.epochs[-1]
            rows += [["last train metric", e.get("train_metric")], ["last test metric", e.get("test_metric")]]
        return rows
    status = s.get("status", "?")
    if s.get("stopped"):
        status += f": {s['stopped']}"
    m = s.get("metric", "metric")
    rows = [["status", status], [f"train {m}", s.get("train_metric")], [f"test {m}", s.get("test_metric")],
            ["train loss", s.get("train_loss")], ["test loss", s.get("test_loss")],
            ["steps", f"{s.get('steps')} in {s.get('epochs')} epochs"
                      + (f" ({s['seconds']:.3g} s, {s['steps_per_second']:.4g} steps/s)"
                         if s.get("seconds") and s.get("steps_per_second") else "")]]
    nf = s.get("non_finite")
    rows.append(["NaN/inf", "none" if not nf else
                 f"at step {nf.get('step')} (epoch {nf.get('epoch')}): loss {nf.get('loss')}; non-finite gradients in "
                 f"{', '.join(nf.get('nonfinite_gradients') or []) or '-'}; "
                 f"weights in {', '.join(nf.get('nonfinite_weights') or []) or '-'}"])
    if s.get("first_layer"):
        r = s.get("first_to_last_grad_ratio")
        rows.append(["gradient norm first / last layer (median)",
                     f"{s['first_layer']} {value(s.get('first_grad_norm'))} / {s['last_layer']} {value(s.get('last_grad_norm'))}"
                     + (f" (ratio {value(r)})" if isinstance(r, (int, float)) else "")])
    return rows


def _csv_columns(path: str) -> list[str] | None:
    p = Path(path)
    if p.suffix.lower() != ".csv" or not p.is_file():
        return None
    import csv

    with open(p, newline="") as f:
        return next(csv.reader(f), None)


def _spec_rows(spec: dict[str, Any]) -> list[list[Any]]:
    """The fields that decide how a network trains, grouped as the seeds discuss them."""
    d, m, t = spec.get("data", {}), spec.get("model", {}), spec.get("train", {})
    data = f"{d.get('dataset')}, normalize {d.get('normalize')}, test fraction {d.get('test_fraction')}"
    if d.get("target"):
        data += f", target column {d['target']}"
    rows = [["name", spec.get("name")], ["data", data]]
    cols = _csv_columns(str(d.get("dataset", "")))
    if cols:
        rows.append(["CSV columns", ", ".join(cols[:30]) + (f" … ({len(cols)} in all)" if len(cols) > 30 else "")])
    model = f"{m.get('kind')}, hidden {value(m.get('hidden'))}, {m.get('activation')}"
    if m.get("kind") == "cnn":
        model += f", channels {value(m.get('channels'))}"
    init = str(m.get("init"))
    if init == "normal":
        init += f" (std {m.get('init_std')})"
    model += f", init {init}, batchnorm {m.get('batchnorm')}"
    if m.get("dropout"):
        model += f", dropout {m['dropout']}"
    rows.append(["model", model])
    opt = str(t.get("optimizer"))
    momentum = f", momentum {t.get('momentum')}" if opt in ("momentum", "nesterov") else ""
    rows.append(["optimizer", f"{opt}, lr {t.get('lr')}{momentum}"
                 + f", batch {t.get('batch_size')}, {t.get('epochs')} epochs, loss {t.get('loss')}"])
    extras = [f"schedule {t['schedule']}" if t.get("schedule", "none") != "none" else None,
              f"clip norm {t['clip_norm']}" if t.get("clip_norm") is not None else None,
              f"clip value {t['clip_value']}" if t.get("clip_value") is not None else None,
              f"l2 {t['l2']}" if t.get("l2") else None]
    rows.append(["remedies in the spec", ", ".join(x for x in extras if x) or "none"])
    rows.append(["seed, statistics", f"seed {t.get('seed')}, layer statistics every {t.get('stats_every')} steps"])
    return rows


def run_report(run_dir: str | Path, out: str | Path | None = None, *, images: list[Path] | None = None,
               diagnosis: dict[str, Any] | None = None) -> Path:
    """Write the report of one recorded training run: its spec, how it ended, the doctor's findings with
    evidence and remedies, and every picture of ``run.render_all``.  ``out``: a directory (gets
    ``report.html``) or an ``.html`` file; default: the run directory.  The PNGs are drawn next to the
    report unless ``images`` (already drawn) are given; the findings are ``diagnosis`` (a
    ``Diagnosis.to_dict()``), else the run's ``diagnosis.json``, else the doctor run on the records.
    Returns the file written."""
    from gradmedic.run.records import Run
    from gradmedic.show.run import render_all

    run = Run(run_dir)
    dest = Path(out) if out is not None else run.dir
    folder = dest if dest.is_dir() or not dest.suffix else dest.parent
    if diagnosis is None:
        diag_file = run.dir / "diagnosis.json"
        diagnosis = json.loads(diag_file.read_text()) if diag_file.is_file() else run.diagnose().to_dict()
    findings = diagnosis.get("findings", [])
    if images is None:
        images = render_all(run.dir, folder)
    n = len(findings)
    verdict = ("Healthy: the doctor found no problem." if not n else
               f"{n} problem{'s' if n > 1 else ''}: " + ", ".join(f["problem"] for f in findings) + ".")
    sections = [
        Section("Outcome", verdict, table=[["", ""], *_outcome_rows(run)]),
        Section("Diagnosis", f"What went wrong, where and since when, with the numbers behind it and the remedies "
                             f"(as spec changes) in the order to try them; {diagnosis.get('steps', '?')} steps examined.",
                findings=findings),
        Section("Pictures", "Each picture's title says what it shows; the grey line under it names the run.", images=images),
        Section("Spec", "The resolved spec (every default filled in; spec.json in the run directory holds it all).",
                table=[["", ""], *_spec_rows(run.spec)]),
    ]
    name = run.spec.get("name", run.dir.name)
    return write_report(dest, f"gradmedic run: {name}", sections, subtitle=str(run.dir))
