"""`dq view`: the data the pages read (unit) and the pages themselves in headless Chromium (e2e).

The browser tests use Debian's chromium (/usr/bin/chromium, installed by the test set-up with
apt) driven by Playwright for Python; they skip, saying why, where either is missing.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from pathlib import Path

import pytest

from harness_ext.cli import main as dq_main
from harness_ext.compare.api import compare_runs
from harness_ext.compare.report import write_report
from harness_ext.compare.report_data import read_json as read_comparisons
from harness_ext.errors import DQError
from harness_ext.view import data as vdata
from harness_ext.view.shots import ARGS as CHROMIUM_ARGS  # one owner of the launch flags
from harness_ext.view.shots import CHROMIUM as CHROMIUM_PATH
from harness_ext.view.site import build_site
from harness_ext.view.sources import find_source

REPO = Path(__file__).resolve().parent.parent

CHROMIUM = Path(CHROMIUM_PATH)
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
DATE = "2026-01-01T00-00-00.000000"


# --------------------------------------------------------------------------
# A generated lm-eval run: what `dq eval --model two_stage --log_samples` writes
# --------------------------------------------------------------------------


def write_run(
    root: Path, label: str, correct: list[int], seed: int, task: str = "toy_dq", pad: int = 0, two_filters: bool = False
) -> Path:
    """One run dir with results, samples and traces; doc i is right iff correct[i].

    pad adds that many characters of few-shot text to each prompt and a quarter of it to each
    output, for GSM8K-sized files (a 1,500-character solver prompt, a 400-character answer).
    """
    rng = random.Random(seed)
    d = root / label.replace("/", "_") / "two_stage__x__y"
    d.mkdir(parents=True)
    results = {
        "results": {task: {"alias": task, "exact_match,none": sum(correct) / len(correct)}},
        "higher_is_better": {task: {"exact_match": True}},
        "config": {"model": "two_stage", "model_args": None, "dq": {"label": label, "mode": "static"}},
    }
    (d / f"results_{DATE}.json").write_text(json.dumps(results))
    samples, traces = [], []
    for i, ok in enumerate(correct):
        question = f"Q{i}: what is {i} + {i}?"
        doc_hash = hashlib.sha256(question.encode()).hexdigest()
        filler = ("Let me think step by step. " * (pad // 25 + 1))[: pad // 4]
        output = filler + f"{i} + {i} = {2 * i if ok else 2 * i + 1}. The answer is: {2 * i if ok else 2 * i + 1}"
        if i == 0 and label == "evil":
            output = EVIL
        subq = [f"What is {i}?", f"What is {i} + {i}?"] if rng.random() < 0.5 else []
        samples.append(
            {
                "doc_id": i,
                "doc": {"question": question, "answers": [str(2 * i)]},
                "target": str(2 * i),
                "arguments": {"gen_args_0": {"arg_0": "Example. " * (pad // 9) + question}},
                "resps": [[output]],
                "filtered_resps": [output[-4:]],
                "filter": "strict-match" if two_filters else "none",
                "metrics": ["exact_match"],
                "doc_hash": doc_hash,
                "exact_match": float(ok),
            }
        )
        shots = "Example question and its worked answer. " * (pad // 40)
        stage = {
            "prompt": shots + "Split: " + question,
            "output": "\n".join(subq),
            "prompt_tokens": 20,
            "completion_tokens": 8,
            "seconds": 0.25,
            "cached": False,
        }
        solver = {
            "prompt": shots + question,
            "output": output,
            "prompt_tokens": 40,
            "completion_tokens": 12,
            "seconds": 0.5,
            "cached": False,
        }
        solver["truncated"] = i % 4 == 0
        traces.append(
            {
                "task": task,
                "doc_id": i,
                "doc_hash": doc_hash,
                "mode": "static",
                "subquestions": subq,
                "flags": [] if subq else ["single_stage"],
                "decomposer": stage,
                "solver": solver,
            }
        )
    # gsm8k-style tasks log each doc once per filter; the flexible filter here is always right.
    flexible = [{**s, "filter": "flexible-extract", "exact_match": 1.0} for s in samples] if two_filters else []
    (d / f"samples_{task}_{DATE}.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples + flexible))
    (d / f"traces_{task}_{DATE}.jsonl").write_text("".join(json.dumps(t) + "\n" for t in traces))
    return d


def write_runs(root: Path, n_runs: int, n_docs: int, evil: bool = False, pad: int = 0) -> list[str | Path]:
    rng = random.Random(7)
    base = [int(rng.random() < 0.5) for _ in range(n_docs)]
    runs: list[str | Path] = []
    for r in range(n_runs):
        flip = 0.1 + 0.02 * r  # each run disagrees with the first on a different share of docs
        correct = [b if rng.random() > flip else 1 - b for b in base]
        label = "evil" if evil and r == n_runs - 1 else f"dec{r}/sol"
        runs.append(write_run(root, label, correct, seed=r, pad=pad))
    return runs


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory) -> Path:
    """Four generated runs and the `dq compare --out` dir over them (the real writer)."""
    root = tmp_path_factory.mktemp("runs")
    runs = write_runs(root / "runs", 4, 60, evil=True)
    report = compare_runs(list(runs), baseline="dec0/sol", iterations=200)
    write_report(report, root / "compare")
    return root / "compare"


# --------------------------------------------------------------------------
# Unit: the data the pages are built from
# --------------------------------------------------------------------------


@pytest.mark.unit
def test_study_source_merges_cells_by_label():
    col = vdata.collect([REPO / "results/paper_grid_small"])
    assert {r.label for r in col.runs} == {
        f"{d}/{s}" for d in ("none", "oracle", "smol", "gemma") for s in ("smol", "gemma")
    }
    assert col.tasks() == ["bamboogle_dq", "dq_synth_d4", "drop_dq", "gsm8k_dq"]
    # DROP has no gold sub-questions, so the study has no oracle cells for it.
    assert {t: len(col.runs_for(t)) for t in col.tasks()} == {
        "bamboogle_dq": 8,
        "dq_synth_d4": 8,
        "drop_dq": 6,
        "gsm8k_dq": 8,
    }
    reported = read_comparisons(REPO / "results/paper_grid_small/comparisons.json")[0]
    assert len(col.comparisons) == len(reported) and all(c["reported"] for c in col.comparisons)


@pytest.mark.unit
def test_compare_source_takes_labels_from_comparisons_json():
    src = find_source(REPO / "results/demo")
    assert src.kind == "compare"
    assert [r.label for r in src.runs] == ["single-stage", "model-decomposer", "oracle-decomposer"]  # results/demo
    assert [p.name for p in src.plots] == ["forest.png"]


@pytest.mark.unit
def test_an_older_comparisons_json_without_runs_is_still_read(compare_dir, tmp_path):
    """A bare list (folders written before the runs were recorded): the runs below the folder."""
    comparisons, recorded = read_comparisons(compare_dir / "comparisons.json")
    assert len(recorded) == 4
    old = tmp_path / "old"
    old.mkdir()
    (old / "comparisons.json").write_text(json.dumps(comparisons))
    with pytest.raises(DQError, match="records no runs .* rerun dq compare --out"):
        find_source(old)
    shutil.copytree(compare_dir.parent / "runs", old / "runs")
    src = find_source(old)
    assert src.kind == "compare" and len(src.runs) == 4 and src.comparisons == comparisons


@pytest.mark.unit
def test_leaderboard_rows_and_baselines(compare_dir):
    col = vdata.collect([compare_dir])
    rows = vdata.leaderboard(col)
    assert len(rows) == 4 and all(
        r["metric"] == "exact_match" and r["ci_low"] <= r["mean"] <= r["ci_high"] for r in rows
    )
    base = [r for r in rows if r["is_baseline"]]
    assert [r["label"] for r in base] == ["dec0/sol"] and "vs" not in base[0]
    others = [r for r in rows if not r["is_baseline"]]
    assert all(
        r["vs"]["a"] == "dec0/sol" and r["vs"]["diff"] == pytest.approx(r["mean"] - base[0]["mean"]) for r in others
    )


@pytest.mark.unit
def test_leaderboard_rows_carry_rank_intervals(compare_dir, tmp_path):
    build_site([compare_dir], tmp_path / "site")
    index = _payload(tmp_path / "site/data/index.js")
    ranks = sorted((r["rank"]["statistic"], r["mean"], r["rank"]) for r in index["leaderboard"])
    means = [x[1] for x in ranks]
    assert means == sorted(means, reverse=True)
    # competition ranks: equal means (two runs here score the same) share their point rank
    assert [x[0] for x in ranks] == [1 + sum(m > x + 1e-9 for m in means) for x in means]
    assert len(set(x[0] for x in ranks)) < len(ranks)  # the fixture does have a tie
    assert all(r["rank_low"] <= k <= r["rank_high"] for k, _, r in ranks) and ranks[0][2]["tied_with_best"]
    assert index["sections"][0]["computed"] is True  # no sections.json in a plain compare dir


@pytest.mark.unit
def test_study_sections_come_from_sections_json(tmp_path):
    build_site([REPO / "results/distill_study"], tmp_path / "site")
    index = _payload(tmp_path / "site/data/index.js")
    reported = json.loads((REPO / "results/distill_study/sections.json").read_text())
    assert index["sections"][0]["generalization"] == reported["generalization"]
    ranked = [r for r in index["leaderboard"] if "rank" in r]
    assert {(r["task"], r["filter"]) for r in ranked} == {(t, "strict-match") for t in reported["ranks"]}
    assert len(ranked) == sum(len(v) for v in reported["ranks"].values())


@pytest.mark.unit
def test_pair_values_reproduce_reported_discordant_counts(compare_dir, tmp_path):
    """The per-doc values the pair view counts give comparisons.json's n01 and n10."""
    build_site([compare_dir], tmp_path / "site")
    task = _payload(tmp_path / "site/data/task_0.js")
    index = _payload(tmp_path / "site/data/index.js")
    reported = read_comparisons(compare_dir / "comparisons.json")[0]
    assert len(reported) == 3
    for c in reported:
        ids = {r["label"]: str(r["id"]) for r in index["runs"]}
        va, vb = (task["values"][ids[c[k]]]["exact_match|none"] for k in ("a", "b"))
        assert sum(a == 0 and b == 1 for a, b in zip(va, vb)) == c["n01"]
        assert sum(a == 1 and b == 0 for a, b in zip(va, vb)) == c["n10"]
        assert c["n01"] + c["n10"] > 0


@pytest.mark.unit
def test_trace_stats(compare_dir, tmp_path):
    build_site([compare_dir], tmp_path / "site")
    stats = _payload(tmp_path / "site/data/index.js")["stats"]
    assert len(stats) == 4
    s = stats[0]
    assert s["n"] == 60 and s["truncated"] == pytest.approx(15 / 60)  # every 4th doc's solver truncated
    assert s["solver"]["prompt_tokens"] == 40 and s["solver"]["seconds"] == 0.5
    assert 0 < s["decomposed"] < 1 and s["mean_subq"] == pytest.approx(2 * s["decomposed"])


@pytest.mark.unit
def test_doc_pages_show_each_trace_as_recorded(compare_dir, tmp_path):
    """The doc view's trace is the traces file's line itself: a field the run did not write
    (token_source here) stays absent, not TraceRecord's default."""
    build_site([compare_dir], tmp_path / "site")
    index = _payload(tmp_path / "site/data/index.js")
    docs = _payload(tmp_path / "site/data/task_0_docs_0.js")["docs"]
    for run in index["runs"]:
        (path,) = run["paths"].values()
        traces = next(Path(path).parent.glob("traces_*.jsonl")).read_text().splitlines()
        recorded = {t["doc_id"]: t for t in map(json.loads, traces)}
        shown = {int(d): e["runs"][str(run["id"])]["trace"] for d, e in docs.items()}
        assert shown and all(t == recorded[d] and "token_source" not in t["solver"] for d, t in shown.items())


@pytest.mark.unit
def test_data_files_cannot_close_a_script_element(compare_dir, tmp_path):
    build_site([compare_dir], tmp_path / "site")
    text = "".join(f.read_text() for f in (tmp_path / "site/data").glob("*.js"))
    assert "window.__pwned" in text and "</script" not in text.lower()


@pytest.mark.unit
def test_runs_without_a_report_get_fresh_comparisons(tmp_path):
    runs = write_runs(tmp_path / "runs", 3, 30)
    col = vdata.collect([tmp_path / "runs"])
    assert len(col.runs) == 3 and len(col.comparisons) == 3  # every pair
    assert not any(c["reported"] for c in col.comparisons)
    assert Path(runs[0]).exists()


@pytest.mark.unit
def test_several_filters_open_on_strict_match(tmp_path):
    for r, correct in enumerate(([1, 0, 1, 0], [0, 0, 1, 1])):
        write_run(tmp_path / "runs", f"r{r}", correct, seed=r, two_filters=True)
    build_site([tmp_path / "runs"], tmp_path / "site")
    index = _payload(tmp_path / "site/data/index.js")
    assert index["tasks"][0]["filters"] == ["flexible-extract", "strict-match"]
    assert index["tasks"][0]["default_filter"] == "strict-match"
    strict = [c for c in index["comparisons"] if c["filter"] == "strict-match"]
    assert len(strict) == 1 and (strict[0]["n01"], strict[0]["n10"]) == (1, 1)
    values = _payload(tmp_path / "site/data/task_0.js")["values"]["0"]
    assert values["exact_match|flexible-extract"] == [1, 1, 1, 1]


@pytest.mark.unit
def test_errors(tmp_path, compare_dir):
    with pytest.raises(DQError, match="no such file"):
        build_site([tmp_path / "missing"], tmp_path / "site")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(DQError, match="not a dq view site"):
        build_site([compare_dir], tmp_path / "taken")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DQError, match="no study.json"):
        build_site([empty], tmp_path / "site")


@pytest.mark.unit
def test_cli(compare_dir, tmp_path, capsys):
    assert dq_main(["view", str(compare_dir), "--out", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site/index.html").exists() and (tmp_path / "site/data/index.js").exists()
    assert dq_main(["view", str(tmp_path / "nope"), "--out", str(tmp_path / "site")]) == 2
    assert "no such file" in capsys.readouterr().err


def _payload(path: Path) -> dict:
    text = path.read_text()
    return json.loads(text[text.index(",") + 1 : text.rindex(");")])


# --------------------------------------------------------------------------
# e2e: the pages in headless Chromium
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page that records console errors and waits for each route to render."""

    def __init__(self, browser, site: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.site = site

    def open(self, route: str = "#/") -> None:
        self.page.goto(f"{self.site.resolve().as_uri()}/index.html{route}")
        self.page.wait_for_selector("body[data-rendered]", state="attached")

    def go(self, route: str) -> None:
        # The site's CSP forbids eval, so waits are CSS selectors, not wait_for_function.
        self.page.evaluate("r => { delete document.body.dataset.rendered; location.hash = r; }", route)
        self.page.wait_for_selector("body[data-rendered]", state="attached")

    def column(self, table: str, key: str) -> list[str]:
        idx = self.page.eval_on_selector_all(
            f"{table} thead th", f"ths => ths.findIndex(t => t.dataset.key === {key!r})"
        )
        return self.page.eval_on_selector_all(
            f"{table} tbody tr", f"trs => trs.map(tr => tr.children[{idx}].textContent)"
        )


@pytest.mark.e2e
def test_browser_leaderboard_sorting_pair_and_escaping(browser, compare_dir, tmp_path):
    site = tmp_path / "site"
    build_site([compare_dir], site)
    page = Page(browser, site)
    page.open()
    table = "table[data-task='toy_dq']"
    means = [float(x) for x in page.column(table, "mean")]
    assert means == sorted(means, reverse=True) and len(means) == 4
    page.page.click(f"{table} th[data-key='mean']")  # toggles to ascending
    page.page.wait_for_selector("body[data-rendered*='dir=asc']", state="attached")
    means = [float(x) for x in page.column(table, "mean")]
    assert means == sorted(means)
    page.page.click(f"{table} th[data-key='label']")
    page.page.wait_for_selector("body[data-rendered*='sort=label']", state="attached")
    labels = page.column(table, "label")
    assert [x.replace(" (baseline)", "") for x in labels] == sorted(
        ["dec0/sol", "dec1/sol", "dec2/sol", "evil"], reverse=True
    )
    page.page.screenshot(path=str(tmp_path / "leaderboard.png"))
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000

    # Every reported pair: the pair view's discordant count is comparisons.json's n01 + n10.
    index = _payload(site / "data/index.js")
    for c in read_comparisons(compare_dir / "comparisons.json")[0]:
        ids = {r["label"]: r["id"] for r in index["runs"]}
        page.go(f"#/pair?task=0&a={ids[c['a']]}&b={ids[c['b']]}&metric=exact_match&filter=none")
        count = page.page.get_attribute("#discordant-count", "data-count")
        assert int(count) == c["n01"] + c["n10"]
        cards = page.page.locator("article.doc-card").count()
        assert cards == min(25, c["n01"] + c["n10"])

    # A model output holding markup is shown as text and never runs.
    page.go("#/doc?task=0&doc=0&q=evil")
    trace = page.page.locator("section.run-trace").first
    assert EVIL in trace.inner_text()
    assert page.page.evaluate("window.__pwned") is None
    assert page.page.locator("main script, main img[src='x']").count() == 0
    page.page.screenshot(path=str(tmp_path / "doc.png"), full_page=True)
    assert page.errors == []


@pytest.mark.e2e
@pytest.mark.parametrize("results", ["results/demo", "results/paper_grid_small", "results/dynamic"])
def test_browser_committed_results(browser, results, tmp_path):
    """Every view of the sites for the committed results renders without a console error."""
    site = tmp_path / "site"
    build_site([REPO / results], site)
    page = Page(browser, site)
    page.open()
    assert page.page.locator("table.grid").count() >= 1
    for route in ("#/comparisons", "#/generalization", "#/pair", "#/docs", "#/doc", "#/plots", "#/runs"):
        page.go(route)
        assert page.page.locator("main .error").count() == 0, route
    index = _payload(site / "data/index.js")
    for c in index["comparisons"]:
        if c.get("n01") is None:
            continue
        task = next(t["id"] for t in index["tasks"] if t["task"] == c["task"])
        page.go(f"#/pair?task={task}&a={c['a_id']}&b={c['b_id']}&metric={c['metric']}&filter={c['filter']}")
        assert int(page.page.get_attribute("#discordant-count", "data-count")) == c["n01"] + c["n10"]
    page.page.screenshot(path=str(tmp_path / "site.png"))
    assert page.errors == []


@pytest.mark.e2e
def test_browser_generalization_page_and_rank_column(browser, tmp_path):
    """results/distill_study: every forest, verdict and cross-task table of sections.json is on the page."""
    site = tmp_path / "site"
    build_site([REPO / "results/distill_study"], site)
    reported = json.loads((REPO / "results/distill_study/sections.json").read_text())
    page = Page(browser, site)
    page.open()
    ranks = page.column("table[data-task='dq_synth_easy_d2']", "rank")
    assert len(ranks) == 10 and all("[" in r for r in ranks) and sum("=1" in r for r in ranks) >= 1
    page.go("#/generalization")
    sections = page.page.locator("section.generalization")
    assert sections.count() == len(reported["generalization"])
    verdicts = page.page.locator("p.verdict").all_inner_texts()
    assert verdicts == [g["verdict"] for g in reported["generalization"]]
    assert page.page.locator("table.cross-task").count() == len(
        {(g["by"], g["reference"]) for g in reported["generalization"]}
    )
    assert page.page.locator("table.cross-task td.trained").count() >= 1
    assert (
        page.page.locator("table.frontier tr.pareto").count() >= 1 and page.page.locator("table.overall").count() == 1
    )
    # bars are placed (CSSOM, under the site's CSP): a pooled interval has a non-zero width
    width = page.page.eval_on_selector("tr.pooled .forest-bar .ci", "e => e.getBoundingClientRect().width")
    assert width > 0
    page.page.screenshot(path=str(tmp_path / "generalization.png"), full_page=True)
    assert (tmp_path / "generalization.png").stat().st_size > 10_000
    assert page.errors == []


@pytest.mark.e2e
def test_browser_scale_20_runs_1319_docs(browser, tmp_path):
    """20 runs x 1,319 docs (GSM8K's size): prints how long the leaderboard and a pair view take."""
    runs = write_runs(tmp_path / "runs", 20, 1319, pad=1600)
    site = tmp_path / "site"
    t0 = time.perf_counter()
    build_site(runs, site)
    built = time.perf_counter() - t0
    page = Page(browser, site)
    t0 = time.perf_counter()
    page.open()
    leaderboard = time.perf_counter() - t0
    t0 = time.perf_counter()
    page.go("#/pair?task=0&a=0&b=19")
    pair = time.perf_counter() - t0
    t0 = time.perf_counter()
    page.go("#/doc?task=0&doc=1318")
    doc = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in site.rglob("*")) / 1e6
    print(
        f"\nscale 20x1319: build {built:.1f} s, site {size:.1f} MB; leaderboard {leaderboard:.2f} s, pair {pair:.2f} s, doc {doc:.2f} s"
    )
    assert int(page.page.get_attribute("body", "data-rendered") is not None)
    assert page.errors == []
    shutil.rmtree(tmp_path / "runs")
