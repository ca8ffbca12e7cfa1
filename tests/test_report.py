"""report.html: escaped user text, embedded pictures only, the doctor's findings, a real browser's rendering;
and what the new pictures' headlines say."""

import base64
import contextlib
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from gradmedic.cli import main
from gradmedic.show.report import Section, render, write_report
from gradmedic.show.run import NAMES, grad_headline

NASTY = "<script>alert(1)"  # a run name may not hold "/", so the closing tag cannot be in it
# seed 004's vanishing network (5 sigmoid layers of 5 units, N(0, 1) weights, momentum 0.01), 20 epochs:
# enough for the doctor to be sure (tests/test_cli.py diagnoses the same spec)
SEED004 = ["--normalize", "minmax", "--hidden", "5,5,5,5,5", "--activation", "sigmoid", "--init", "normal",
           "--init-std", "1", "--optimizer", "momentum", "--lr", "0.01", "--epochs", "20", "--seed", "1",
           "--stats-every", "10", "--progress", "none"]
COLUMN = "<b>label</b>"  # a CSV column name that is also HTML


def cli(capsys, *args):
    rc = main(list(args))
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return cap.out


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """The seed 004 sigmoid run trained through the CLI under a name that is HTML."""
    tmp = tmp_path_factory.mktemp("failing")
    rc = main(["train", *SEED004, "--name", NASTY, "--runs-dir", str(tmp), "--json"])
    assert rc == 0
    run_dir = next(tmp.iterdir())
    return run_dir, (run_dir / "report.html").read_text()


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """A linearly separable CSV task whose target column is named with HTML, trained through the CLI
    without a report, which ``gradmedic show`` then writes (each report costs seconds: one per run here).
    Returns the run directory, the report and what ``show --json`` printed."""
    tmp = tmp_path_factory.mktemp("healthy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    csv = tmp / "data.csv"
    csv.write_text("a,b," + COLUMN + "\n" + "\n".join(f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in x) + "\n")
    rc = main(["train", "--dataset", str(csv), "--target", COLUMN, "--normalize", "standard", "--hidden", "16",
               "--optimizer", "adam", "--lr", "0.01", "--epochs", "10", "--progress", "none",
               "--runs-dir", str(tmp / "runs"), "--json", "--no-report"])
    assert rc == 0
    run_dir = next((tmp / "runs").iterdir())
    assert not (run_dir / "report.html").exists()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["show", str(run_dir), "--json"])
    assert rc == 0
    return run_dir, (run_dir / "report.html").read_text(), json.loads(buf.getvalue())


def images(page):
    return re.findall(r"<img\b[^>]*>", page)


# -- escaping and self-containedness --------------------------------------------------------------------

def test_user_text_is_escaped_never_raw(failing, healthy):
    page = failing[1]
    assert NASTY not in page and "&lt;script&gt;alert(1)" in page  # in the title, heading and spec table
    assert "<script" not in page.lower()  # no JavaScript at all, the user's or ours
    page = healthy[1]
    assert COLUMN not in page and "&lt;b&gt;label&lt;/b&gt;" in page  # the target column, and the CSV's columns


def test_section_text_tables_and_findings_are_escaped(tmp_path):
    evil = '<img src=x onerror="alert(1)">'
    finding = {"problem": evil, "severity": "warning", "layers": [evil], "step": 1, "detected_at": 2, "message": evil,
               "evidence": {evil: evil}, "remedies": [{"change": evil, "source": evil, "spec_change": {"lr": evil}}]}
    page = render(evil, [Section(evil, evil, table=[[evil], [evil]], checks={evil: True}, findings=[finding])], subtitle=evil)
    assert "<img" not in page and page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 10


def test_pictures_are_embedded_as_data_uris(failing, tmp_path):
    run_dir, page = failing
    imgs = images(page)
    assert len(imgs) == len(NAMES)  # every picture of render_all
    for tag in imgs:
        src = re.search(r'src="([^"]*)"', tag).group(1)
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing fetched from elsewhere: no other src, no stylesheet or script links, no url() in the CSS
    assert len(re.findall(r'\bsrc=', page)) == len(NAMES)
    assert not re.search(r'<link\b|url\(|href="(?!#)', page)
    # the file stands alone: moved away from the run directory it still holds its pictures
    moved = tmp_path / "elsewhere.html"
    shutil.copy(run_dir / "report.html", moved)
    assert images(moved.read_text()) == imgs
    for name in NAMES:  # the PNGs also lie next to it, with their captions in the report
        assert (run_dir / name).is_file()
    assert "log10 of each layer&#x27;s gradient norm" in page and "colorful dimension" in page


# -- what the report says ------------------------------------------------------------------------------

def test_failing_run_lists_its_findings_with_evidence_and_remedies(failing):
    run_dir, page = failing
    d = json.loads((run_dir / "diagnosis.json").read_text())
    assert "vanishing_gradients" in d["problems"]
    for f in d["findings"]:
        assert f'<b>{f["problem"]}</b>' in page
        assert f["message"].replace("'", "&#x27;") in page
        for key in f["evidence"]:
            assert f"<td>{key}</td>" in page
        for r in f["remedies"]:
            assert r["change"] in page
    assert "--activation relu --init he_uniform" in page  # the first remedy, as flags to paste
    assert "Healthy" not in page
    assert re.search(r"<td>status</td><td>ok</td>", page)


def test_healthy_run_says_healthy(healthy):
    run_dir, page, _ = healthy
    assert json.loads((run_dir / "diagnosis.json").read_text())["findings"] == []
    assert "Healthy: the doctor found no problem." in page and 'class="finding' not in page
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test_metric"] > 0.9  # healthy indeed: a separable task learned
    assert f'<td>test accuracy</td><td class="num">{summary["test_metric"]:.4g}</td>' in page


def test_show_writes_the_report_and_says_where(healthy):
    run_dir, page, shown = healthy  # what the fixture's `gradmedic show --json` printed
    assert shown["report"] == str(run_dir / "report.html")
    assert shown["plots"] == [str(run_dir / n) for n in NAMES]
    assert len(images(page)) == len(NAMES) and all((run_dir / n).is_file() for n in NAMES)


def test_diagnose_writes_the_report_of_a_killed_run(failing, tmp_path, capsys):
    """A run killed before summary.json: ``diagnose RUN_DIR`` reports from what was recorded."""
    run_dir, _ = failing
    d = tmp_path / "killed"
    shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("summary.json", "diagnosis.json", "model.pt", "*.png", "*.html"))
    out = cli(capsys, "diagnose", str(d))
    assert f"report: {d / 'report.html'}" in out
    page = (d / "report.html").read_text()
    assert "killed: no summary.json" in page and "vanishing_gradients" in page  # the doctor read the records
    assert len(images(page)) == len(NAMES)


def test_write_report_puts_small_pictures_side_by_side(tmp_path):
    from matplotlib.figure import Figure

    paths = []
    for i, w in enumerate((5, 5, 12)):  # inches at 100 dpi: 500, 500 and 1200 px wide
        fig = Figure(figsize=(w, 2), dpi=100)
        fig.subplots().plot([0, i])
        paths.append(tmp_path / f"p{i}.png")
        fig.savefig(paths[-1])
    sections = [Section("a"), Section("b"), Section("c", images=paths, captions={"p2.png": "wide"})]
    page = write_report(tmp_path, "t", sections).read_text()
    row = re.search(r'<div class="row">(.*?)</div>', page).group(1)
    assert len(images(row)) == 2  # the two small ones share a row, the wide one stands alone
    assert "<figcaption>wide</figcaption>" in page
    assert page.count('<li><a href="#s') == 3  # a table of contents from three sections on


# -- a real browser renders it ----------------------------------------------------------------------------

def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(failing, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed: apt-get install chromium to run this check")
    import matplotlib.image

    run_dir, _ = failing
    shot = tmp_path / "shot.png"
    # tall enough to reach the pictures below the outcome table and the findings
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1200,3000", (run_dir / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    px = matplotlib.image.imread(shot)[..., :3]  # floats in [0, 1]
    assert px.shape[:2] == (3000, 1200)
    # not blank: a blank page is one colour; text on white has a handful; plots have thousands
    colours = len(np.unique((px * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert colours > 1000 and px.std() > 0.1, (colours, px.std())
    # the pictures were decoded and drawn: the gradient heatmap is a block of rows mostly covered by
    # strongly coloured (viridis) pixels, which neither text (grey), links nor the pale finding box make
    chroma = px.max(2) - px.min(2)
    mostly_coloured = (chroma > 0.35).mean(1) > 0.5
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, mostly_coloured.astype(int), 0])).reshape(-1, 2), axis=1).ravel()
    assert len(runs) and runs.max() >= 150, runs  # the heatmap is ~300 px tall at this width
    top = int(np.argmax(mostly_coloured))
    band = px[top:top + 150, 60:1140]  # where the heatmap is placed: not uniform, many colours
    assert band.std() > 0.1 and len(np.unique((band * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 100


# -- the headlines of the new pictures ---------------------------------------------------------------------

NAMES6 = ["fc1", "fc2", "fc3", "fc4", "fc5", "out"]


def test_heatmap_headline_says_where_the_gradient_dies():
    st = np.arange(1, 101, 10)
    # each layer back from the output gets 1/4 of the next one's gradient: fc2 gets 1/256 of out's
    g = np.tile(0.08 * 4.0 ** -np.arange(5, -1, -1), (10, 1))
    h = grad_headline(g, st, NAMES6)
    assert h.startswith("The gradient dies toward the input: from fc2 to the input it is under 1/100 of out's"), h
    g[:, 1] = 0.08 / 50  # fc2 back at 1/50: fc1 is now the only layer under 1/100
    assert "in fc1 it is under 1/100" in grad_headline(g, st, NAMES6)
    healthy = np.tile([0.7, 0.5, 0.3, 0.2, 0.19, 0.16], (10, 1))
    assert grad_headline(healthy, st, NAMES6) == "The gradient reaches every layer: all within 0.6 decades of each other"
    fading = healthy.copy()
    fading[:, 0] = 0.16 / 20
    assert grad_headline(fading, st, NAMES6) == "The gradient fades toward the input: fc1's is 1/20 of out's"


def test_heatmap_headline_for_nan_zeros_and_growth():
    st = np.arange(1, 101, 10)
    g = np.full((10, 6), 0.1)
    g[4:, 0] = 0.0  # fc1 dead from the 5th recorded step on (step 41), fc2 from step 21
    g[2:, 1] = 0.0
    assert grad_headline(g, st, NAMES6) == "The gradient is dead: fc1 (and 1 more layer) gets exactly 0 from step 41 on"
    g = np.full((10, 6), 0.1)
    g[7, 2:4] = np.nan
    assert grad_headline(g, st, NAMES6) == "Gradient norm per layer and step: NaN/inf from step 71 in fc3, fc4"
    g = np.full((10, 6), 0.1) * (10.0 ** np.arange(10))[:, None] ** 0.5  # 4.5 decades of growth
    assert grad_headline(g, st, NAMES6).startswith("Gradient norms grow 4.5 decades during training")


# -- one diagnosis, three renderings ---------------------------------------------------------------------

def test_one_diagnosis_reads_the_same_as_text_on_the_console_and_in_html():
    from rich.console import Console

    from gradmedic.doctor.diagnose import Diagnosis, Finding
    from gradmedic.doctor.remedies import Remedy
    from gradmedic.show import diagnosis as shown

    remedy = Remedy("replace sigmoid by ReLU with He initialization", "seed 004", {"activation": "relu", "init": "he_uniform"},
                    "replace each activation module by nn.ReLU()")
    f = Finding("vanishing_gradients", "serious", ["0", "fc2", "fc3", "fc4", "fc5"], 1, 151,
                "layer 0's gradient norm is 0.0081 of out's", {"ratio": 0.0081}, [remedy])
    d = Diagnosis([f], 320, own_loop=False)
    head = "vanishing_gradients (serious) in layer 0, fc2, fc3, fc4..., since step 1 (sure at step 151)"
    text = str(d)
    assert text.splitlines()[:2] == ["gradmedic: 1 problem(s) in 320 steps", f"- {head}"]
    assert "1. replace sigmoid by ReLU with He initialization (seed 004)  [--activation relu --init he_uniform]" in text
    console = Console(record=True, width=200)
    shown.to_console(d, console)
    lines = console.export_text().splitlines()
    assert lines[1] == head and lines[3].endswith("(seed 004)  --activation relu --init he_uniform"), lines
    page = shown.to_html(d.to_dict()["findings"])  # a recorded diagnosis.json reads the same
    assert "in layer 0, fc2, fc3, fc4, fc5, since step 1 (sure at step 151)" in page  # the report names every layer
    assert "<code>--activation relu --init he_uniform</code>" in page and "<td>ratio</td><td>0.0081</td>" in page
    own = str(Diagnosis([f], 320, own_loop=True))  # a user's own loop: the snippet, not flags
    assert "nn.ReLU()" in own and "[--" not in own


def test_two_writers_of_one_report_each_replace_it_whole(tmp_path):
    """Two tune workers finishing together write the study's report.html at once: each goes through a temporary file
    of its own (one shared temporary name made the second rename fail), and the file is always one whole text."""
    import threading

    from gradmedic.show.report import write_atomic

    path = tmp_path / "report.html"
    texts = ["a" * 200_000, "b" * 200_000]
    errors = []

    def writer(text):
        try:
            for _ in range(30):
                write_atomic(path, text)
        except OSError as e:  # pragma: no cover - the failure this guards against
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and path.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left behind
