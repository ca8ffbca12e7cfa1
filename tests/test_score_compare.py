"""bench/stranger/score.py --against: one doctor's per-case results set against an earlier one's on the same recordings."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _score():
    spec = importlib.util.spec_from_file_location("stranger_score", ROOT / "bench" / "stranger" / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(name, label, cause, findings, hit=None, false_alarm=False, contradiction=False):
    return {"name": name, "label": label, "cause": cause, "findings": findings, "hit": hit, "false_alarm": false_alarm,
            "contradiction": contradiction}


def test_compare_counts_both_doctors_on_the_cases_both_judged_and_tags_what_moved():
    old = [_row("a_lr_x100_s1", "broken", "lr_high", ["lr_too_low@61 (serious)"], hit=False, contradiction=True),
           _row("a_healthy_s1", "healthy", "healthy", ["plateau@200 (serious)"], false_alarm=True),
           _row("b_healthy_s1", "healthy", "healthy", []),
           _row("gone_s1", "broken", "lr_low", [], hit=False)]
    new = [_row("a_lr_x100_s1", "broken", "lr_high", ["lr_too_high@11 (serious)"], hit=True),
           _row("a_healthy_s1", "healthy", "healthy", []),
           _row("b_healthy_s1", "healthy", "healthy", [])]
    lines = _score().compare(old, new)
    assert lines[0] == "before: recall 0/1, healthy flagged 1 of 2, contradictions 1 in 3"
    assert lines[1] == "after:  recall 1/1, healthy flagged 0 of 2, contradictions 0 in 3"
    assert lines[2] == "(1 case(s) judged on one side only, left out)"
    assert lines[3] == "a_healthy_s1 (healthy, healthy): ['plateau@200 (serious)'] -> [] ALARM-"
    assert lines[4] == ("a_lr_x100_s1 (broken, lr_high): ['lr_too_low@61 (serious)'] -> ['lr_too_high@11 (serious)'] "
                        "HIT+ CONTRA-")
    assert len(lines) == 5  # the unchanged case is not listed


def test_a_malformed_against_file_is_one_line_naming_the_option_and_exit_code_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not": "rows"}))
    cases = tmp_path / "cases"
    cases.mkdir()
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "stranger" / "score.py"), "--cases", str(cases),
                        "--against", str(bad)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [f"score.py: --against: {bad}: not a list of per-case results written by --json"]
