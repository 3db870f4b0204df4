// Leaderboard (one table per task), the comparisons list, plots and run details.
"use strict";
(() => {
  const { el, fmt, pct, signed, pval, usd } = DQ;

  function statsFor(run, task) {
    return DQ.data.index.stats.find((s) => s.run === run && s.task === task) || {};
  }

  function pairLink(task, a, b, metric, filter, text) {
    return el("a", { href: DQ.href("pair", { task, a, b, metric, filter }), class: "pair-link" }, text);
  }

  function marks(vs) {
    if (!vs) return "";
    return (vs.significant ? "*" : "") + (vs.underpowered ? "!" : "");
  }

  function columns(t, metric, filter) {
    const st = (r) => statsFor(r.run, t.task);
    const tok = (stage) => (r) => {
      const s = st(r)[stage];
      return s && s.prompt_tokens !== undefined ? s.prompt_tokens + s.completion_tokens : null;
    };
    const tokText = (stage) => (r) => {
      const s = st(r)[stage];
      return s && s.prompt_tokens !== undefined ? fmt(s.prompt_tokens, 0) + " / " + fmt(s.completion_tokens, 0) : "—";
    };
    const vsv = (k) => (r) => (r.vs ? r.vs[k] : null);
    return [
      { key: "rank", label: "rank [95%]", num: true, value: (r) => (r.rank ? r.rank.statistic : null), render: (r) => (r.rank ? el("span", { class: r.rank.tied_with_best ? "tied-best" : null, title: r.rank.tied_with_best ? "rank interval includes 1: tied with the best" : "simultaneous 95% rank interval" }, r.rank.statistic + " [" + r.rank.rank_low + "–" + r.rank.rank_high + "]" + (r.rank.tied_with_best ? " =1" : "")) : "—"), title: "rank by the mean, with its simultaneous 95% interval from a paired bootstrap of every run on this task; =1: tied with the best" },
      { key: "label", label: "run", render: (r) => el("span", { class: r.is_baseline ? "baseline" : null, title: r.is_baseline ? "baseline" : null }, r.label) },
      { key: "decomposer", label: "decomposer", value: (r) => DQ.run(r.run).decomposer, render: (r) => DQ.run(r.run).decomposer || "—" },
      { key: "solver", label: "solver", value: (r) => DQ.run(r.run).solver, render: (r) => DQ.run(r.run).solver || "—" },
      { key: "n", label: "n", num: true, render: (r) => String(r.n) },
      { key: "mean", label: "mean", num: true, render: (r) => fmt(r.mean, 4) },
      { key: "ci", label: "95% CI", num: true, value: (r) => r.ci_low, render: (r) => (r.ci_low === undefined || r.ci_low === null ? "—" : "[" + fmt(r.ci_low) + ", " + fmt(r.ci_high) + "]"), title: "confidence interval of the mean (Wilson for 0/1 metrics, bootstrap otherwise)" },
      { key: "diff", label: "Δ vs baseline", num: true, value: vsv("diff"), render: (r) => (r.vs ? el("span", { title: "95% CI [" + fmt(r.vs.ci_low) + ", " + fmt(r.vs.ci_high) + "] vs " + r.vs.a }, signed(r.vs.diff), el("small", {}, " vs " + r.vs.a)) : r.is_baseline ? "baseline" : "—"), title: "mean difference (this run − its baseline), paired" },
      { key: "p_adjusted", label: "p (adj.)", num: true, value: vsv("p_adjusted"), render: (r) => (r.vs ? pval(r.vs.p_adjusted) + marks(r.vs) : "—"), title: "multiple-comparison adjusted p (Holm by default); * significant, ! underpowered" },
      { key: "discordant", label: "discordant", num: true, value: (r) => (r.vs && r.vs.n01 !== null && r.vs.n01 !== undefined ? r.vs.n01 + r.vs.n10 : null), render: (r) => (r.vs ? pairLink(t.id, r.vs.a_id, r.run, metric, filter, r.vs.n01 === null || r.vs.n01 === undefined ? "pair →" : "+" + r.vs.n01 + " / −" + r.vs.n10) : "—"), title: "docs only this run gets right (+) / only the baseline gets right (−); opens the pair view" },
      { key: "decomposed", label: "decomp.", num: true, value: (r) => st(r).decomposed, render: (r) => pct(st(r).decomposed), title: "share of docs the solver got sub-questions for" },
      { key: "mean_subq", label: "sub-q", num: true, value: (r) => st(r).mean_subq, render: (r) => fmt(st(r).mean_subq, 2), title: "mean sub-questions per doc" },
      { key: "truncated", label: "trunc.", num: true, value: (r) => st(r).truncated, render: (r) => pct(st(r).truncated), title: "share of docs where a stage hit its token limit" },
      { key: "dec_tok", label: "dec. tok in/out", num: true, value: tok("decomposer"), render: tokText("decomposer"), title: "decomposer tokens per doc: prompt / completion" },
      { key: "sol_tok", label: "sol. tok in/out", num: true, value: tok("solver"), render: tokText("solver"), title: "solver tokens per doc: prompt / completion" },
      { key: "dec_usd", label: "dec. $", num: true, value: (r) => (st(r).decomposer || {}).usd, render: (r) => usd((st(r).decomposer || {}).usd), title: "decomposer cost of the whole run (dq study price table)" },
      { key: "sol_usd", label: "sol. $", num: true, value: (r) => (st(r).solver || {}).usd, render: (r) => usd((st(r).solver || {}).usd), title: "solver cost of the whole run (dq study price table)" },
    ];
  }

  function taskSection(t, params) {
    const metric = params.get("m" + t.id) || t.metrics[0];
    const filter = params.get("f" + t.id) || t.default_filter;
    const q = (params.get("q") || "").toLowerCase();
    const rows = DQ.data.index.leaderboard.filter(
      (r) => r.task === t.task && r.metric === metric && r.filter === filter && r.label.toLowerCase().includes(q),
    );
    const sort = { sort: params.get("sort") || "mean", dir: params.get("dir") || "desc" };
    const onSort = (key, dir) => DQ.go("leaderboard", Object.assign(Object.fromEntries(params), { sort: key, dir }));
    const set = (k) => (v) => DQ.go("leaderboard", Object.assign(Object.fromEntries(params), { [k]: v }));
    return el(
      "section",
      { class: "task", id: "task-" + t.id },
      el(
        "h2",
        {},
        t.task,
        " ",
        DQ.select(t.metrics.map((m) => [m, m]), metric, set("m" + t.id), { "aria-label": "metric", class: "metric-select" }),
        t.filters.length > 1 ? DQ.select(t.filters.map((f) => [f, "filter: " + f]), filter, set("f" + t.id), { "aria-label": "filter" }) : el("small", {}, " filter: " + filter),
      ),
      rows.length ? DQ.table(columns(t, metric, filter), rows, sort, onSort, { "data-task": t.task }) : el("p", {}, "no runs match"),
    );
  }

  DQ.views.leaderboard = async (params) => {
    const index = DQ.data.index;
    const only = params.get("task");
    const search = el("input", { type: "search", placeholder: "filter runs…", value: params.get("q") || "", id: "run-filter" });
    search.addEventListener("change", () => DQ.go("leaderboard", Object.assign(Object.fromEntries(params), { q: search.value })));
    const tasks = index.tasks.filter((t) => !only || t.task === only);
    return el(
      "div",
      { class: "view" },
      el(
        "div",
        { class: "controls" },
        DQ.select([["", "all tasks"], ...index.tasks.map((t) => [t.task, t.task])], only || "", (v) => DQ.go("leaderboard", Object.assign(Object.fromEntries(params), { task: v })), { "aria-label": "task" }),
        search,
        el("span", { class: "hint" }, "click a column to sort; * adjusted p < α, ! underpowered; the discordant column opens the pair view"),
      ),
      tasks.map((t) => taskSection(t, params)),
    );
  };

  DQ.views.comparisons = async (params) => {
    const rows = DQ.data.index.comparisons.map((c) => Object.assign({ discordant: c.n01 === null || c.n01 === undefined ? null : c.n01 + c.n10 }, c));
    const sort = { sort: params.get("sort") || "p_adjusted", dir: params.get("dir") || "asc" };
    const onSort = (key, dir) => DQ.go("comparisons", { sort: key, dir });
    const taskId = (c) => DQ.taskByName(c.task).id;
    const cols = [
      { key: "task", label: "task", render: (c) => c.task },
      { key: "metric", label: "metric", render: (c) => c.metric + (c.filter !== "none" ? " (" + c.filter + ")" : "") },
      { key: "a", label: "A", render: (c) => c.a },
      { key: "b", label: "B", render: (c) => c.b },
      { key: "n", label: "n", num: true, render: (c) => String(c.n) },
      { key: "diff", label: "B − A", num: true, render: (c) => signed(c.diff) },
      { key: "ci_low", label: "95% CI", num: true, render: (c) => "[" + fmt(c.ci_low) + ", " + fmt(c.ci_high) + "]" },
      { key: "p_value", label: "p", num: true, render: (c) => pval(c.p_value) },
      { key: "p_adjusted", label: "p (adj.)", num: true, render: (c) => pval(c.p_adjusted) + marks(c) },
      { key: "discordant", label: "discordant", num: true, render: (c) => pairLink(taskId(c), c.a_id, c.b_id, c.metric, c.filter, c.discordant === null ? "pair →" : c.discordant + " (A→B +" + c.n01 + " −" + c.n10 + ")") },
      { key: "test", label: "test", render: (c) => c.test },
    ];
    return el("div", { class: "view" }, el("h2", {}, "All comparisons"), DQ.table(cols, rows, sort, onSort, { id: "comparisons" }));
  };

  DQ.views.plots = async () => {
    const plots = DQ.data.index.plots;
    if (!plots.length) return el("p", {}, "no plots in these results");
    return el("div", { class: "view plots" }, plots.map((p) => el("figure", {}, el("img", { src: p.src, alt: p.title, loading: "lazy" }), el("figcaption", {}, p.title))));
  };

  DQ.views.runs = async () => {
    const index = DQ.data.index;
    return el(
      "div",
      { class: "view" },
      el("h2", {}, "Runs"),
      el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ["run", "decomposer", "solver", "mode", "results files"].map((h) => el("th", {}, h)))),
        el("tbody", {}, index.runs.map((r) => el("tr", {}, el("td", {}, r.label), el("td", {}, r.decomposer || "—"), el("td", {}, r.solver || "—"), el("td", {}, r.mode || "—"), el("td", { class: "paths" }, Object.entries(r.paths).map(([t, p]) => el("div", {}, t + ": " + p))))))),
      el("h2", {}, "Notes"),
      index.notes.length ? el("ul", {}, index.notes.map((n) => el("li", {}, n))) : el("p", {}, "none"),
      el("h2", {}, "Sources"),
      el("ul", {}, index.sources.map((s) => el("li", {}, s.kind + ": " + s.root))),
    );
  };
})();
