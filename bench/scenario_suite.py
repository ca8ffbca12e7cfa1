"""Score the doctor on the labelled scenarios: precision and recall per problem.

    python bench/scenario_suite.py [--only NAME ...] [--seeds K] [--json FILE]

Each scenario trains a real network in a plain PyTorch loop with gradmedic.watch (see
gradmedic/doctor/scenarios.py for what each one is and the outcome its label rests on).  A problem found
in a scenario not labelled with it is a false positive; a label not found is a miss.  "steps to
report" is how many steps after the finding's first step the doctor was sure.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import torch

import gradmedic
from gradmedic.doctor.scenarios import SCENARIOS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[], help="run scenarios whose name contains one of these")
    ap.add_argument("--seeds", type=int, default=1, help="run each scenario with seeds 0..K-1")
    ap.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    a = ap.parse_args()
    torch.set_num_threads(2)
    chosen = [s for s in SCENARIOS if not a.only or any(o in s.name for o in a.only)]
    tp, fp, fn = Counter(), Counter(), Counter()
    rows, healthy_fp, t0 = [], 0, time.perf_counter()
    print(f"{'scenario':36} {'family':11} {'seed':>4}  {'labels':34} {'found':34} {'steps to report':16} {'s':>5}")
    for sc in chosen:
        for seed in range(a.seeds):
            d, out = sc.run(seed=seed)
            found = d.problems
            for p in gradmedic.PROBLEMS:
                tp[p] += p in found and p in sc.labels
                fp[p] += p in found and p not in sc.labels and p not in sc.also
                fn[p] += p not in found and p in sc.labels
            found_extra = found - set(sc.labels) - sc.also
            if not sc.labels and found:
                healthy_fp += 1
            delays = {f.problem: f.detected_at - f.step for f in d.findings}
            mark = "" if set(sc.labels) <= found and not found_extra else "  <-- " + \
                ("missed " + ",".join(sorted(set(sc.labels) - found)) + " " if set(sc.labels) - found else "") + \
                ("extra " + ",".join(sorted(found_extra)) if found_extra else "")
            print(f"{sc.name:36} {sc.family:11} {seed:>4}  {','.join(sorted(sc.labels)) or 'healthy':34} "
                  f"{','.join(sorted(found)) or '-':34} "
                  f"{','.join(str(v) for v in delays.values()) or '-':16} {out['seconds']:5.1f}{mark}")
            rows.append({"scenario": sc.name, "family": sc.family, "seed": seed, "labels": sorted(sc.labels),
                         "found": sorted(found),
                         "findings": [f.to_dict() for f in d.findings], "outcome": out})
    print()
    print(f"{'problem':22} {'labelled':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for p in gradmedic.PROBLEMS:
        lab, fnd = tp[p] + fn[p], tp[p] + fp[p]
        prec = f"{tp[p] / fnd:.2f}" if fnd else "-"
        rec = f"{tp[p] / lab:.2f}" if lab else "-"
        print(f"{p:22} {lab:>8} {fnd:>6} {prec:>9} {rec:>7}")
    T, F, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    n_healthy = sum(1 for s in chosen if not s.labels) * a.seeds
    print(f"{'all':22} {T + N:>8} {T + F:>6} {T / max(T + F, 1):>9.2f} {T / max(T + N, 1):>7.2f}")
    print(f"healthy runs with any finding: {healthy_fp} of {n_healthy}; {len(rows)} runs in {time.perf_counter() - t0:.0f} s")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rows, f, indent=2, default=str)


if __name__ == "__main__":
    main()
