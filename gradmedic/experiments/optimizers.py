"""Seed 002 §7.1 and §7.3 (Fig. 7.3-7.5, 7.8): the update rules' paths on a narrow valley and a saddle.

No network here: each of PyTorch's optimizers moves one 2-D parameter ``w = (x, y)`` over an
analytic loss, so the path can be drawn over the loss's contours and compared with the seed's
pictures.  PyTorch's momentum is ``b = rho b + g; w -= lr b`` (seed 002 eq. 7.1-7.3 with b = -v/lr,
see ``gradmedic.model.optim``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradmedic.experiments import Experiment, finish, print_table, study_dir
from gradmedic.show.experiments import paths_png
from gradmedic.show.report import Section

EXPECTED = (
    "Narrow valley f = 0.01 x^2 + y^2 (curvatures 0.02 and 2, 100x apart): plain GD zig-zags across the valley "
    "(y changes sign at every one of its first 10 steps) and creeps along it; momentum reaches the tolerance "
    "(f < 1e-3, and staying there) in fewer than half GD's steps; Nesterov overshoots the minimum along the valley "
    "less than momentum; AdaGrad, RMSProp and Adam rescale each coordinate, so their first step moves x and y "
    "about equally (|dx|/|dy| >= 0.5) although y's gradient is 19x x's; AdaGrad and Adam reach the tolerance in under half GD's "
    "steps (RMSProp only ties GD: its step is about lr whatever the gradient, so without annealing it bounces around the "
    "minimum at an amplitude set by lr; at lr 0.05 it needs 173 steps against GD's 178, at 0.07 it never stays "
    "below the tolerance, at 0.03 it takes 276). "
    "Saddle f = x^2 - y^2 + y^4/4 started at (1, 0.001), next to the saddle point (0, 0): plain GD needs at least "
    "twice as many steps as momentum to escape (f < -0.5; the minima are at y = +-sqrt 2, f = -1), and every "
    "other optimizer escapes in fewer steps than GD.")

RHO = 0.9  # seed 002 §7.3.1: "rho is usually set to the neighborhood of 0.9"
TOL = 1e-3  # loss above the minimum's: f(w) - f* < 1e-3 is |x| < 0.32 along the valley floor
ESCAPE = -0.5  # the saddle's value is 0 and the minima's -1: below -0.5 the path has left the saddle


def valley(w: torch.Tensor) -> torch.Tensor:
    """Seed 002 Fig. 7.3's narrow steep valley: curvature 0.02 along x, 2 across (y); minimum 0 at (0, 0)."""
    return 0.01 * w[0] ** 2 + w[1] ** 2


def saddle(w: torch.Tensor) -> torch.Tensor:
    """Seed 002 Fig. 7.4: x^2 - y^2 has a saddle at (0, 0); + y^4/4 bounds it below (minima -1 at y = +-sqrt 2)."""
    return w[0] ** 2 - w[1] ** 2 + w[1] ** 4 / 4


def optimizer_factories(lrs: dict[str, float]) -> dict[str, Callable[[list[torch.Tensor]], torch.optim.Optimizer]]:
    """PyTorch's optimizers for the seed's update rules (seed 002 §7.3), one learning rate each."""
    optim = torch.optim
    make = {
        "GD": lambda p, lr: optim.SGD(p, lr=lr),
        "Momentum": lambda p, lr: optim.SGD(p, lr=lr, momentum=RHO),
        "Nesterov": lambda p, lr: optim.SGD(p, lr=lr, momentum=RHO, nesterov=True),
        "AdaGrad": lambda p, lr: optim.Adagrad(p, lr=lr),
        "RMSProp": lambda p, lr: optim.RMSprop(p, lr=lr, alpha=RHO),  # seed 002 §7.3.4's decay rho = 0.9
        "Adam": lambda p, lr: optim.Adam(p, lr=lr),
    }
    return {name: (lambda p, m=make[name], lr=lr: m(p, lr)) for name, lr in lrs.items()}


def optimizer_paths(fn: Callable[[torch.Tensor], torch.Tensor], start: tuple[float, float],
                    optimizers: dict[str, Callable[[list[torch.Tensor]], torch.optim.Optimizer]],
                    steps: int) -> dict[str, np.ndarray]:
    """The points each optimizer visits minimizing ``fn`` from ``start``: {name: (steps + 1, 2)} in float64.

    ``optimizers[name]`` builds the optimizer for a list of parameters.  A path that becomes NaN/inf
    stops there (the rest of its rows are NaN)."""
    out = {}
    for name, make in optimizers.items():
        w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = make([w])
        pts = np.full((steps + 1, len(start)), np.nan)
        pts[0] = start
        for i in range(1, steps + 1):
            opt.zero_grad()
            fn(w).backward()
            opt.step()
            pts[i] = w.detach().numpy()
            if not np.all(np.isfinite(pts[i])):
                break
        out[name] = pts
    return out


def _losses(fn, p: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return fn(torch.tensor(p.T)).numpy()


def steps_to_tol(f: np.ndarray, tol: float) -> int | None:
    """First step from which ``f`` stays below ``tol`` to the end (a path that dips and bounces out does not count)."""
    above = np.flatnonzero(~(f < tol))
    if len(above) == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < len(f) else None


def first_below(f: np.ndarray, level: float) -> int | None:
    hit = np.flatnonzero(f < level)
    return int(hit[0]) if len(hit) else None


def sign_changes(v: np.ndarray) -> int:
    s = np.sign(v[np.isfinite(v)])
    return int(np.sum(s[1:] * s[:-1] < 0))


# Learning rates (stated in the table and report).  Valley: GD at 0.9, just under its stability limit
# 2/2 = 1 across the valley (the fastest plain GD can go along it); momentum and Nesterov at 0.6
# (Nesterov with rho 0.9 diverges across the valley above lr*2 = 2(1+rho)/(1+2 rho), lr 0.68);
# the adaptive rates are the usual defaults scaled to the distance to travel (8 units along x).
VALLEY_LRS = {"GD": 0.9, "Momentum": 0.6, "Nesterov": 0.6, "AdaGrad": 1.0, "RMSProp": 0.05, "Adam": 0.3}
VALLEY_START = (-8.0, 1.5)
# Saddle: one rate 0.05 for the three SGD rules (so only the rule differs); adaptive rates of the same size.
SADDLE_LRS = {"GD": 0.05, "Momentum": 0.05, "Nesterov": 0.05, "AdaGrad": 0.1, "RMSProp": 0.02, "Adam": 0.05}
SADDLE_START = (1.0, 1e-3)


def run(runs_dir: str | Path | None = "runs", console=None, size: str = "full") -> dict[str, Any]:
    from rich.console import Console

    console = console or Console()
    # Paths cost milliseconds; the reduced size only shortens them (every claim is settled by then).
    n_valley, n_saddle = (300, 150) if size == "full" else (200, 100)
    console.print("[bold]optimizers[/bold] (seed 002 §7.1, §7.3): GD, Momentum, Nesterov, AdaGrad, RMSProp and Adam "
                  f"on a narrow valley and near a saddle point.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "optimizers")
    pv = optimizer_paths(valley, VALLEY_START, optimizer_factories(VALLEY_LRS), n_valley)
    ps = optimizer_paths(saddle, SADDLE_START, optimizer_factories(SADDLE_LRS), n_saddle)

    stats: dict[str, dict[str, dict[str, Any]]] = {"valley": {}, "saddle": {}}
    for name, p in pv.items():
        f = _losses(valley, p)
        step1 = np.abs(p[1] - p[0])
        stats["valley"][name] = {
            "lr": VALLEY_LRS[name], "final_loss": float(f[-1]), "distance": float(np.hypot(*p[-1])),
            "steps_to_tol": steps_to_tol(f, TOL), "y_sign_changes_first10": sign_changes(p[:11, 1]),
            "overshoot_x": float(max(0.0, np.nanmax(p[:, 0]))),  # how far past the minimum x = 0 it ran
            "first_step_dx_over_dy": float(step1[0] / step1[1]) if step1[1] > 0 else float("inf"),
        }
    for name, p in ps.items():
        f = _losses(saddle, p)
        stats["saddle"][name] = {
            "lr": SADDLE_LRS[name], "final_loss": float(f[-1]),
            "distance": float(np.min([np.hypot(p[-1, 0], p[-1, 1] - s) for s in (2 ** 0.5, -(2 ** 0.5))])),
            "steps_to_escape": first_below(f, ESCAPE), "steps_to_tol": steps_to_tol(f + 1.0, TOL),
        }

    names = list(VALLEY_LRS)
    v, s = stats["valley"], stats["saddle"]
    table = [["", *names],
             ["valley: lr", *(v[n]["lr"] for n in names)],
             [f"loss at step {n_valley}", *(v[n]["final_loss"] for n in names)],
             ["distance to min", *(v[n]["distance"] for n in names)],
             [f"steps to f<{TOL:g}", *(v[n]["steps_to_tol"] for n in names)],
             ["y flips, steps 1-10", *(v[n]["y_sign_changes_first10"] for n in names)],
             ["overshoot past x=0", *(v[n]["overshoot_x"] for n in names)],
             ["step 1 |dx|/|dy|", *(v[n]["first_step_dx_over_dy"] for n in names)],
             ["saddle: lr", *(s[n]["lr"] for n in names)],
             [f"steps to f<{ESCAPE:g}", *(s[n]["steps_to_escape"] for n in names)],
             [f"loss at step {n_saddle}", *(s[n]["final_loss"] for n in names)],
             ["distance to min", *(s[n]["distance"] for n in names)]]
    print_table(table, console, "seed 002 §7.3: the update rules on a valley and a saddle", sections=[8])

    def lt(a, b):  # "a in fewer steps than b"; never reaching counts as infinitely many steps
        inf = float("inf")
        return (inf if a is None else a) < (inf if b is None else b)

    gd_v, gd_s = v["GD"]["steps_to_tol"], s["GD"]["steps_to_escape"]
    mom_v = v["Momentum"]["steps_to_tol"]
    checks = {
        # Seed 002 Fig. 7.3 LHS: across the valley GD's multiplier is 1 - 0.9*2 = -0.8, a sign flip every step.
        "valley: GD's y changes sign at each of its first 10 steps (zig-zag)": v["GD"]["y_sign_changes_first10"] == 10,
        # "fewer than half": a clear gain, not a few steps of noise (the theory: rate 0.95 vs 0.982 per step).
        "valley: momentum reaches the tolerance in < half GD's steps": mom_v is not None and lt(2 * mom_v, gd_v),
        "valley: Nesterov overshoots the minimum along x less than momentum":
            v["Nesterov"]["overshoot_x"] < v["Momentum"]["overshoot_x"],
        # GD's first step is lr*g: |dx|/|dy| = 0.16/3 = 0.053; a per-coordinate rescaling brings it near 1.
        "valley: AdaGrad, RMSProp, Adam move x and y alike on the first step (|dx|/|dy| >= 0.5)":
            all(v[n]["first_step_dx_over_dy"] >= 0.5 for n in ("AdaGrad", "RMSProp", "Adam")),
        "valley: AdaGrad and Adam reach the tolerance in < half GD's steps":
            all(v[n]["steps_to_tol"] is not None and lt(2 * v[n]["steps_to_tol"], gd_v) for n in ("AdaGrad", "Adam")),
        # Seed 002 Fig. 7.5/7.8: near the saddle the gradient is tiny; momentum accumulates it.
        "saddle: GD needs >= 2x momentum's steps to escape":
            s["Momentum"]["steps_to_escape"] is not None and not lt(gd_s, 2 * s["Momentum"]["steps_to_escape"]),
        "saddle: every other optimizer escapes in fewer steps than GD":
            all(lt(s[n]["steps_to_escape"], gd_s) for n in names if n != "GD"),
    }

    images: list[Path] = []
    lr_v = ", ".join(f"{n} {VALLEY_LRS[n]:g}" for n in names)
    lr_s = ", ".join(f"{n} {SADDLE_LRS[n]:g}" for n in names)
    if out is not None:  # no study directory (runs_dir=None): numbers only
        images.append(paths_png(
            valley, pv, (-9, 3, -2, 2), out / "valley.png",
            f"narrow valley: steps to f < {TOL:g}: GD {gd_v}, momentum {mom_v}, Adam {v['Adam']['steps_to_tol']}",
            f"f = 0.01 x² + y², start {VALLEY_START}, {n_valley} steps; lr: {lr_v}; rho {RHO}", minima=[(0.0, 0.0)]))
        images.append(paths_png(
            saddle, ps, (-1.2, 1.2, -2.0, 2.0), out / "saddle.png",
            f"saddle: steps to escape: GD {gd_s}, momentum {s['Momentum']['steps_to_escape']}, "
            f"Adam {s['Adam']['steps_to_escape']}",
            f"f = x² - y² + y⁴/4, start {SADDLE_START}, {n_saddle} steps; lr: {lr_s}",
            minima=[(0.0, 2 ** 0.5), (0.0, -(2 ** 0.5))], saddle=(0.0, 0.0)))
    sections = [Section("Paths and numbers",
                        f"Each optimizer is PyTorch's own on one 2-D parameter. Valley lrs: {lr_v}. Saddle lrs: {lr_s}. "
                        f"Valley rows: loss f at the last step, distance to the minimum, steps until f < {TOL:g} for good (from "
                        "the step after which it stays below), sign flips of y in the first 10 steps (zig-zag), how far x "
                        "ran past the minimum, and the first step's |dx|/|dy| (GD: the gradient's 0.053). Saddle rows: "
                        f"steps until f < {ESCAPE:g} (escaped), the loss at the end (minimum -1) and the distance to "
                        "the nearest minimum.",
                        images=images, table=table)]
    paths_json = {surf: {n: p[np.all(np.isfinite(p), axis=1)].round(6).tolist()[:: max(1, len(p) // 100)]
                         for n, p in d.items()} for surf, d in (("valley", pv), ("saddle", ps))}
    return finish("optimizers", EXPECTED, checks, console, out, sections, runs={}, stats=stats,
                  images=[str(p) for p in images] if out is not None else [], paths=paths_json)


EXPERIMENT = Experiment("optimizers", "GD, Momentum, Nesterov, AdaGrad, RMSProp, Adam on a narrow valley and a saddle "
                        "(seed 002 Fig. 7.3-7.5, 7.8)", EXPECTED, run)
