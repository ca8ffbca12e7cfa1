"""Score the doctor on runs it was not tuned on: recall, false alarms and contradictions per source.

    python bench/stranger/score.py [--cases bench/stranger/cases] [--split tune|held-out|all] [--json FILE]
                                   [--show missed|alarms|contradictions|all] [--threshold FIELD=VALUE ...]
                                   [--against EARLIER.json]

Cases are recorded once by ``generated.py``, ``public/run.py`` and ``bugreports.py`` (one ``.npz``
per run, labelled by outcome against its counterfactual: see ``causes.py``) and judged here again
with the doctor as it is now, so a change to a detector is scored in seconds.

The split: the generated corpus's MLP and CNN families are the *tuning* body (thresholds were set
looking at them); its RNN/GRU/LSTM, Transformer and GPT families, the public programs and the bug
reports are *held out* (never looked at while tuning).  ``--split tune`` shows only the tuning body.

Columns: broken = cases whose control trained clearly better; found = broken cases where the doctor
gave a code that answers the cause (recall = found / broken); alarms = healthy cases with any
finding, warnings included (false-alarm rate = alarms / healthy); contra = cases given a code that
contradicts the outcome (e.g. lr_too_low for a rate 100x too high), over all labelled cases;
within 100 = hits reported within 100 steps of the cause's onset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.stranger.causes import CAUSES, score  # noqa: E402
from gradmedic.doctor.diagnose import PROBLEMS, Thresholds  # noqa: E402
from gradmedic.measure import casefile  # noqa: E402

TUNE_FAMILIES = {"mlp", "cnn"}  # of the generated corpus; everything else is held out


def group_of(meta: dict) -> str:
    src = meta.get("source", "?")
    if src == "generated":
        fam = meta.get("family", "?")
        return f"generated/{fam}" + (" (tune)" if fam in TUNE_FAMILIES else "")
    return src


def is_tune(meta: dict) -> bool:
    return meta.get("source") == "generated" and meta.get("family") in TUNE_FAMILIES


def load(root: Path, split: str) -> list:
    out = []
    for p in sorted(root.rglob("*.npz")):
        try:
            c = casefile.load(p)
        except Exception as e:  # a case written by an older recorder: say so, go on
            print(f"skipping {p}: {e}", file=sys.stderr)
            continue
        if c.meta.get("label") not in ("broken", "healthy"):
            continue
        if split == "tune" and not is_tune(c.meta) or split == "held-out" and is_tune(c.meta):
            continue
        c.meta["path"] = str(p)
        # every case is a finished training, saved after its loop's last step (run.py, generated.py and bugreports.py
        # save once train() has returned): its last sample is the run's end, as a closed monitor's is (loop_facts ended),
        # which files recorded before that fact existed do not say
        c.context.loop.setdefault("ended", True)
        out.append(c)
    return out


class _Joint:
    """The findings of a program's monitors together (a GAN's netD and netG): what its user reads."""

    def __init__(self, ds: list) -> None:
        self.findings = [f for d in ds for f in d.findings]
        self.problems = set().union(*(d.problems for d in ds))


def programs(cases: list, th: Thresholds) -> list:
    """(case, diagnosis) per training program.  A program watched by several monitors (a GAN: one per
    model, ``meta["part"]``) is one case: its label and cause are the run's (the generator's Fréchet
    distance), so it is found when any of its monitors gives an answering code, and alarms when any
    of them gives a finding.  Judging each monitor alone would ask the generator's doctor to blame a
    rate it does not have (issue 8, own-loop item 5: the discriminator's rate, not the generator's)."""
    units: dict[str, list] = defaultdict(list)
    for c in cases:
        part = c.meta.get("part")
        name = c.meta.get("name", c.meta["path"])
        key = name[: -len(part) - 1] if part and name.endswith(f"_{part}") else name
        units[key].append(c)
    out = []
    for key, cs in units.items():
        ds = [c.diagnose(th) for c in cs]
        if len(cs) == 1:
            out.append((cs[0], ds[0]))
            continue
        meta = {**cs[0].meta, "name": key, "parts": [c.meta.get("part") for c in cs]}
        meta.pop("part", None)
        out.append((type(cs[0])(cs[0].history, cs[0].context, meta), _Joint(ds)))
    return out


def compare(old: list[dict], new: list[dict]) -> list[str]:
    """Lines that set a doctor's per-case results (``--json`` rows) against an earlier doctor's on the same recordings,
    joined by case name: the totals of each (recall, healthy runs flagged, contradictions, over the cases both judged)
    and every case whose findings differ, tagged HIT+/HIT-, ALARM+/ALARM-, CONTRA+/CONTRA- where its score moved."""
    before, after = {r["name"]: r for r in old}, {r["name"]: r for r in new}
    both = [k for k in after if k in before]

    def totals(rows: dict) -> str:
        judged = [rows[k] for k in both]
        broken = [r for r in judged if r["label"] == "broken"]
        healthy = [r for r in judged if r["label"] == "healthy"]
        return (f"recall {sum(bool(r['hit']) for r in broken)}/{len(broken)}, healthy flagged "
                f"{sum(bool(r['false_alarm']) for r in healthy)} of {len(healthy)}, contradictions "
                f"{sum(bool(r['contradiction']) for r in judged)} in {len(judged)}")

    out = [f"before: {totals(before)}", f"after:  {totals(after)}"]
    left = len(set(before) ^ set(after))
    if left:
        out.append(f"({left} case(s) judged on one side only, left out)")
    for k in sorted(both):
        b, a = before[k], after[k]
        if b["findings"] == a["findings"]:
            continue
        tags = "".join(f" {name}{'+' if a[key] else '-'}" for key, name in
                       (("hit", "HIT"), ("false_alarm", "ALARM"), ("contradiction", "CONTRA")) if bool(a[key]) != bool(b[key]))
        out.append(f"{k} ({a['label']}, {a['cause']}): {b['findings']} -> {a['findings']}{tags}")
    return out


def _bad(msg: str) -> None:
    """Bad input: one line naming the option, exit code 2."""
    print(f"score.py: {msg}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=str(Path(__file__).parent / "cases"), help="folder of recorded .npz cases")
    ap.add_argument("--split", choices=["tune", "held-out", "all"], default="all")
    ap.add_argument("--show", choices=["none", "missed", "alarms", "contradictions", "all"], default="none",
                    help="list the cases the doctor got wrong")
    ap.add_argument("--threshold", action="append", default=[], metavar="FIELD=VALUE", help="override a doctor threshold")
    ap.add_argument("--json", dest="json_out", help="also write per-case results to this JSON file")
    ap.add_argument("--against", metavar="JSON", help="a --json file an earlier doctor wrote for the same cases: print "
                                                      "both doctors' totals and every case whose findings changed")
    a = ap.parse_args()
    root = Path(a.cases)
    if not root.is_dir():
        _bad(f"--cases: {root} is not a folder of recorded cases (run generated.py, public/run.py, bugreports.py first)")
    try:
        th = Thresholds(**{k: float(v) if "." in v or "e" in v else int(v) for k, v in (t.split("=", 1) for t in a.threshold)})
    except Exception as e:
        _bad(f"--threshold: {e}")
    earlier = None
    if a.against:
        try:
            earlier = json.loads(Path(a.against).read_text())
            if not (isinstance(earlier, list) and all(isinstance(r, dict) and "name" in r and "findings" in r for r in earlier)):
                raise ValueError("not a list of per-case results written by --json")
        except (OSError, ValueError) as e:
            _bad(f"--against: {a.against}: {e}")
    t0 = time.perf_counter()
    cases = load(root, a.split)
    if not cases:
        _bad(f"--cases: no labelled cases under {root} for split {a.split}")
    rows = []
    G = defaultdict(lambda: defaultdict(int))
    per_problem = defaultdict(lambda: [0, 0])  # code -> [right, wrong]
    per_cause = defaultdict(lambda: [0, 0])  # cause -> [found, broken]
    for c, d in programs(cases, th):
        found = d.problems
        r = score(found, c.meta)
        g = group_of(c.meta)
        for key in (g, "all held-out" if not is_tune(c.meta) else "all tune"):
            s = G[key]
            s["cases"] += 1
            if c.meta["label"] == "healthy":
                s["healthy"] += 1
                s["alarms"] += r["false_alarm"]
            else:
                s["broken"] += 1
                s["found"] += bool(r["hit"])
                s["contra"] += r["contradiction"]
                onset = int(c.meta.get("onset") or 1)
                hits = [f for f in d.findings if f.problem in CAUSES[c.meta["cause"]]["answers"]]
                if hits and min(f.detected_at for f in hits) - max(onset, 1) <= 100:
                    s["within100"] += 1
        if c.meta["label"] == "broken":
            per_cause[c.meta["cause"]][1] += 1
            per_cause[c.meta["cause"]][0] += bool(r["hit"])
        for p in found:
            ok = c.meta["label"] == "broken" and p in CAUSES[c.meta["cause"]]["answers"]
            bad = c.meta["label"] == "healthy" or (c.meta["label"] == "broken" and p in CAUSES[c.meta["cause"]]["contradicts"])
            per_problem[p][0] += ok
            per_problem[p][1] += bad
        rows.append({"name": c.meta.get("name"), "group": g, "cause": c.meta["cause"], "label": c.meta["label"],
                     "found": sorted(found), **r, "findings": [f"{f.problem}@{f.detected_at} ({f.severity})" for f in d.findings],
                     "messages": [f.message for f in d.findings], "path": c.meta["path"]})

    def pct(n, d):
        return f"{n / d:.2f}" if d else "-"

    print(f"{'source':34} {'cases':>5} {'broken':>6} {'found':>5} {'recall':>6} {'healthy':>7} {'alarms':>6} {'rate':>5} "
          f"{'contra':>6} {'rate':>5} {'within100':>9}")
    for key in sorted(G, key=lambda k: (k.startswith("all"), k)):
        s = G[key]
        print(f"{key:34} {s['cases']:>5} {s['broken']:>6} {s['found']:>5} {pct(s['found'], s['broken']):>6} {s['healthy']:>7} "
              f"{s['alarms']:>6} {pct(s['alarms'], s['healthy']):>5} {s['contra']:>6} {pct(s['contra'], s['cases']):>5} "
              f"{pct(s['within100'], s['found']):>9}")
    print()
    print(f"{'cause':18} {'broken':>6} {'found':>5} {'recall':>6}    "
          f"{'code given':20} {'right':>5} {'wrong':>5} {'precision':>9}")
    causes, codes = sorted(per_cause), [p for p in PROBLEMS if p in per_problem]
    for i in range(max(len(causes), len(codes))):
        left = f"{causes[i]:18} {per_cause[causes[i]][1]:>6} {per_cause[causes[i]][0]:>5} {pct(*per_cause[causes[i]]):>6}" \
            if i < len(causes) else " " * 38
        right = ""
        if i < len(codes):
            ok, bad = per_problem[codes[i]]
            right = f"{codes[i]:20} {ok:>5} {bad:>5} {pct(ok, ok + bad):>9}"
        print(f"{left}    {right}")
    print(f"\n{len(rows)} cases ({len(cases)} recordings: a program with several monitors is one case) judged in "
          f"{time.perf_counter() - t0:.1f} s")
    show = a.show
    if show != "none":
        print()
        for r in rows:
            kind = ("missed" if r["hit"] is False else "") or ("alarms" if r["false_alarm"] else "") or \
                   ("contradictions" if r["contradiction"] else "")
            if kind and (show == "all" or show == kind):
                print(f"[{kind}] {r['group']} {r['name']} cause={r['cause']} found={r['findings']}")
                for m in r["messages"]:
                    print(f"      {m}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(rows, indent=1))
    if earlier is not None:
        print(f"\nagainst {a.against}:")
        for line in compare(earlier, rows):
            print(f"  {line}")


if __name__ == "__main__":
    main()
