"""One view of the doctor's diagnosis, rendered three ways: text (``print(diagnosis)``), the console
(``gradmedic train``/``diagnose``, rich markup) and HTML (every report).

``View.of`` reads a ``diagnose.Diagnosis`` or its ``to_dict()`` (a recorded ``diagnosis.json``), so a
live diagnosis and a recorded one read the same.  No rich, no matplotlib at import.
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field
from typing import Any

from gradmedic.show.numbers import flags, value

MAX_LAYERS = 4  # layers named in a finding's headline; the rest are '...'
MAX_REMEDIES = 3  # remedies printed on the console and in text (the reports list them all)
_SEVERITY_STYLE = {"critical": "bold red", "serious": "red", "warning": "yellow"}


def layer_name(name: str) -> str:
    """A module name as a reader sees it: 'fc1', but 'layer 0' for nn.Sequential's numbers."""
    return f"layer {name}" if name[:1].isdigit() else name


@dataclass(frozen=True)
class RemedyView:
    change: str
    source: str
    flags: str  # the spec change as command-line flags ('' when it has none)
    snippet: str


@dataclass(frozen=True)
class FindingView:
    problem: str
    severity: str
    layers: list[str]
    step: int
    detected_at: int
    message: str
    evidence: dict[str, Any]
    remedies: list[RemedyView]

    def where(self, most: int | None = MAX_LAYERS) -> str:
        """' in fc1, fc2' ('' without layers); at most ``most`` layers, then '...'."""
        if not self.layers:
            return ""
        shown = self.layers if most is None else self.layers[:most]
        return f" in {', '.join(map(layer_name, shown))}{'...' if len(shown) < len(self.layers) else ''}"

    def since(self) -> str:
        return f"since step {self.step} (sure at step {self.detected_at})"


@dataclass(frozen=True)
class View:
    steps: Any
    findings: list[FindingView]
    notes: list[str] = field(default_factory=list)
    own_loop: bool = False  # remedies as PyTorch snippets (a user's own loop), else as spec flags

    @classmethod
    def of(cls, d: Any) -> View:
        """From a ``Diagnosis`` or its ``to_dict()``."""
        if isinstance(d, dict):
            steps, own, notes = d.get("steps", "?"), bool(d.get("own_loop", False)), list(d.get("notes") or [])
            fs = [_finding(f) for f in d.get("findings") or []]
        else:
            steps, own, notes = d.steps, bool(d.own_loop), list(d.notes)
            fs = [_finding(f.to_dict()) for f in d.findings]
        return cls(steps, fs, notes, own)


def _finding(f: dict[str, Any]) -> FindingView:
    rem = [RemedyView(r.get("change", ""), r.get("source", ""), flags(r.get("spec_change") or {}), r.get("snippet") or "")
           for r in f.get("remedies") or []]
    return FindingView(f["problem"], f["severity"], list(f.get("layers") or []), f.get("step"), f.get("detected_at"),
                       f.get("message", ""), dict(f.get("evidence") or {}), rem)


# -- text -------------------------------------------------------------------------------------------

def text(d: Any) -> str:
    """``print(diagnosis)``: a headline, then each finding with its message and first remedies (spec flags
    in brackets, or the own-loop snippet)."""
    v = View.of(d)
    notes = [f"  note: {n}" for n in v.notes]
    if not v.findings:
        return "\n".join([f"gradmedic: no problems found in {v.steps} steps."] + notes)
    lines = [f"gradmedic: {len(v.findings)} problem(s) in {v.steps} steps"]
    for f in v.findings:
        lines.append(f"- {f.problem} ({f.severity}){f.where()}, {f.since()}")
        lines.append(f"    {f.message}")
        for i, r in enumerate(f.remedies[:MAX_REMEDIES], 1):
            lines.append(f"    {i}. {r.change} ({r.source})" + (f"  [{r.flags}]" if r.flags and not v.own_loop else ""))
            if r.snippet and v.own_loop:
                lines += [f"         {ln}" for ln in r.snippet.splitlines()]
    return "\n".join(lines + notes)


# -- console ----------------------------------------------------------------------------------------

def to_console(d: Any, console: Any) -> None:
    """The doctor's report on a rich console: each finding coloured by severity, with its evidence in one
    sentence and its first remedies (spec flags in cyan)."""
    v = View.of(d)
    if not v.findings:
        console.print(f"[green]diagnosis: no problems found[/green] in {v.steps} steps")
        return
    console.print(f"[bold]diagnosis:[/bold] {len(v.findings)} problem(s) in {v.steps} steps")
    for f in v.findings:
        console.print(f"[{_SEVERITY_STYLE.get(f.severity, 'red')}]{f.problem}[/] ({f.severity}){f.where()}, {f.since()}",
                      highlight=False)
        console.print(f"  {f.message}", highlight=False, markup=False)
        for i, r in enumerate(f.remedies[:MAX_REMEDIES], 1):
            console.print(f"  {i}. {r.change} [dim]({r.source})[/dim]" + (f"  [cyan]{r.flags}[/cyan]" if r.flags else ""),
                          highlight=False)


# -- HTML -------------------------------------------------------------------------------------------

def _esc(v: Any) -> str:
    return _html.escape(str(v), quote=True)


def _evidence(ev: dict[str, Any]) -> str:
    if not ev:
        return ""
    return ('<table class="kv">' + "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(value(x))}</td></tr>" for k, x in ev.items())
            + "</table>")


def to_html(d: Any) -> str:
    """The findings of a report: each with every layer, its evidence table and all its remedies."""
    v = View.of(d if not isinstance(d, list) else {"findings": d})
    if not v.findings:
        return '<div class="healthy">Healthy: no problems found (the doctor stays silent on healthy training).</div>'
    out = []
    for f in v.findings:
        head = f"<b>{_esc(f.problem)}</b> <span class=dim>({_esc(f.severity)})</span>{_esc(f.where(None))}, {_esc(f.since())}"
        rem = "".join(f"<li>{_esc(r.change)} <span class=dim>({_esc(r.source)})</span>"
                      + (f" <code>{_esc(r.flags)}</code>" if r.flags else "") + "</li>" for r in f.remedies)
        out.append(f'<div class="finding {_esc(f.severity)}">{head}<p>{_esc(f.message)}</p>'
                   f"<div class=dim>Evidence:</div>{_evidence(f.evidence)}"
                   + (f"<div class=dim>Remedies, best first:</div><ol>{rem}</ol>" if rem else "") + "</div>")
    return "\n".join(out)
