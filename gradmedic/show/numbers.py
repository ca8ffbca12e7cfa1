"""Every number and flag format gradmedic shows, in one place (no matplotlib, no rich)."""

from __future__ import annotations

import json
import math
from typing import Any

from gradmedic.spec import flag_value, label_value  # noqa: F401  (re-exported: the spec spells the flags)

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def num(x: float | None) -> str:
    """A number for a title: 3 significant digits, no exponent for ordinary sizes (2 beyond them)."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.3g}"
    return f"{x:.2g}"


def num_or_na(x: float | None) -> str:
    """``num``, but 'n/a' for a missing or NaN value (text of the experiments)."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else num(x)


def sig3(v: Any) -> str:
    """A table cell: floats with 3 significant digits, anything else as it is."""
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def decade(e: int) -> str:
    """-3 -> '10⁻³'."""
    return "10" + str(e).translate(_SUPERSCRIPT)


def sci(x: float) -> str:
    """2.1e19 -> '2.1×10¹⁹', 5e-19 -> '5×10⁻¹⁹'."""
    e = int(math.floor(math.log10(x)))
    m = round(x / 10 ** e, 1)
    if m >= 10:
        m, e = m / 10, e + 1
    return (f"{m:.2g}×" if m != 1 else "") + decade(e)


def ratio(r: float) -> str:
    """A ratio >= 1: 1324 -> '1300', 132 -> '130', 13.4 -> '13', 1.34 -> '1.3', 2.1e19 -> '2.1×10¹⁹'."""
    if r >= 1e5:
        return sci(r)
    if r >= 10:
        return f"{round(r, 1 - int(math.floor(math.log10(r)))):.0f}"
    return f"{r:.2g}"


def fraction(r: float) -> str:
    """Any positive ratio: 0.0083 -> '1/120', 4.56 -> '4.6' (under 1/3 written as 1/x)."""
    if not math.isfinite(r) or r <= 0:
        return str(r)
    return f"1/{ratio(1 / r)}" if r < 1 / 3 else ratio(r)


def table_num(x: float) -> str:
    """Accuracies and moderate numbers with 3 decimals (0.823); MSEs like 25690.7 or 3.1e-05 with 4 digits."""
    return f"{x:.3f}" if x == 0 or 0.01 <= abs(x) < 1000 else f"{x:.4g}"


def pm(mean: float | None, std: float | None) -> str:
    """Mean ± std in the mean's own units: 0.500 ± 0.006, not 0.500 ± 0.005657; '-' when there is none."""
    if mean is None:
        return "-"
    if std is None:
        return table_num(mean)
    return f"{mean:.3f} ± {std:.3f}" if "e" not in table_num(mean) and abs(mean) < 1000 else f"{table_num(mean)} ± {std:.2g}"


def value(v: Any) -> str:
    """A spec or evidence value in a report: 4 significant digits, lists with ', ', '-' for None."""
    if isinstance(v, bool) or v is None:
        return str(v).lower() if isinstance(v, bool) else "-"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(value(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, default=str)
    return str(v)


def flags(change: dict[str, Any]) -> str:
    """A spec change as the flags that make it: {'clip_norm': 1.0, 'hidden': [8, 8]} -> '--clip-norm 1.0 --hidden 8,8'."""
    return " ".join(f"--{k.replace('_', '-')} {flag_value(v)}" for k, v in change.items())

