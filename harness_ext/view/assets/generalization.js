// Generalization page: per-entry forests with the pooled effect, the cross-task table, the
// overall ranking with win/tie/loss counts and the cost frontier (from each source's sections.json).
"use strict";
(() => {
  const { el, fmt, signed, pval } = DQ;
  const ci = (x, lo, hi, s) => (s ? signed : fmt)(x) + " [" + (s ? signed : fmt)(lo) + ", " + (s ? signed : fmt)(hi) + "]";

  // A Δ and its interval as a bar on one scale [-s, s] for the page (0 marked), drawn with CSS widths.
  let scale = 1;
  function bar(x, lo, hi, pooled) {
    const pos = (v) => (50 + 50 * Math.max(-1, Math.min(1, v / scale))).toFixed(2) + "%";
    return el("div", { class: "forest-bar" + (pooled ? " pooled" : "") },
      el("span", { class: "zero" }),
      el("span", { class: "ci", style: null, dataset: { lo: pos(lo), hi: pos(hi) } }),
      el("span", { class: "pt", dataset: { x: pos(x) } }));
  }

  function forest(g) {
    // one scale per forest, [-s, s] with s the widest |end| rounded up to 0.1: small effects stay visible
    const ends = g.cells.concat(g.pooled ? [g.pooled] : []).flatMap((c) => [c.ci_low, c.ci_high]).filter(Number.isFinite);
    scale = Math.max(0.1, Math.ceil(10 * Math.max(0, ...ends.map(Math.abs))) / 10);
    const rows = g.cells.map((c) => el("tr", { class: c.trained ? "trained" : null },
      el("td", {}, c.task + (c.trained ? " (trained)" : "")), el("td", {}, c.context || "—"),
      el("td", { class: "num" }, ci(c.statistic, c.ci_low, c.ci_high, true)), el("td", {}, bar(c.statistic, c.ci_low, c.ci_high, false)),
      el("td", { class: "num" }, pval(c.pvalue)), el("td", { class: "num" }, pval(c.p_adjusted) + (c.significant ? "*" : ""))));
    const m = g.pooled;
    if (m) rows.push(el("tr", { class: "pooled" }, el("td", {}, "pooled (" + m.k + " cells)"), el("td", {}, ""),
      el("td", { class: "num" }, ci(m.statistic, m.ci_low, m.ci_high, true)), el("td", {}, bar(m.statistic, m.ci_low, m.ci_high, true)),
      el("td", { class: "num" }, pval(m.pvalue)), el("td", {}, "")));
    const head = el("tr", {}, ["task", "with", "Δ [CI]", "scale ±" + scale.toFixed(1), "p", "p (adj.)"].map((h) => el("th", {}, h)));
    const het = m ? "Q = " + fmt(m.q, 2) + " (p = " + pval(m.q_pvalue) + "), I² = " + (100 * m.i2).toFixed(0) + " %, τ² = " + fmt(m.tau2, 4) : "";
    return el("section", { class: "generalization", dataset: { entry: g.entry } },
      el("h3", {}, g.entry + " vs " + g.reference), el("p", { class: "verdict" }, g.verdict), het ? el("p", { class: "hint" }, het) : null,
      el("table", { class: "grid forest" }, el("thead", {}, head), el("tbody", {}, rows)));
  }

  function crossTask(gens) {
    const tasks = [...new Set(gens.flatMap((g) => g.cells.map((c) => c.task)))];
    if (tasks.length < 2) return null;
    const body = [];
    for (const g of gens) for (const ctx of [...new Set(g.cells.map((c) => c.context))]) {
      const cell = (t) => g.cells.find((c) => c.task === t && c.context === ctx);
      body.push(el("tr", {}, el("td", {}, g.entry), el("td", {}, ctx || "—"), tasks.map((t) => {
        const c = cell(t);
        return el("td", { class: "num" + (c && c.trained ? " trained" : "") }, c ? ci(c.statistic, c.ci_low, c.ci_high, true) + (c.significant ? "*" : "") + (c.trained ? " (trained)" : "") : "—");
      })));
    }
    return el("table", { class: "grid cross-task" }, el("thead", {}, el("tr", {}, ["entry", "with", ...tasks].map((h) => el("th", {}, h)))), el("tbody", {}, body));
  }

  function overall(sec) {
    if (!sec.overall || !sec.overall.length) return null;
    const rec = Object.fromEntries((sec.records || []).map((r) => [r.label, r]));
    return el("section", {}, el("h3", {}, "Overall ranking: mean over " + sec.overall_tasks.join(", ")),
      el("table", { class: "grid overall" }, el("thead", {}, el("tr", {}, ["rank", "95% interval", "entry", "mean [CI]", "W/T/L"].map((h) => el("th", {}, h)))),
        el("tbody", {}, sec.overall.map((r) => el("tr", { class: r.tied_with_best ? "tied-best" : null },
          el("td", { class: "num" }, String(r.statistic)), el("td", {}, r.rank_low + "–" + r.rank_high + (r.tied_with_best ? " =1" : "")), el("td", {}, r.label),
          el("td", { class: "num" }, ci(r.score, r.score_low, r.score_high, false)),
          el("td", {}, rec[r.label] ? rec[r.label].wins + "/" + rec[r.label].ties + "/" + rec[r.label].losses : "—"))))));
  }

  function frontier(sec) {
    const out = [];
    for (const [task, kinds] of Object.entries(sec.frontiers || {})) for (const [kind, pts] of Object.entries(kinds)) {
      out.push(el("h3", {}, task + ": accuracy vs " + kind),
        el("table", { class: "grid frontier", dataset: { task, kind } }, el("thead", {}, el("tr", {}, ["entry", "cost", "score [CI]", "Pareto", "dominated by"].map((h) => el("th", {}, h)))),
          el("tbody", {}, pts.map((p) => el("tr", { class: p.pareto ? "pareto" : null }, el("td", {}, p.label), el("td", { class: "num" }, p.cost === null ? "—" : Number(p.cost).toPrecision(3)),
            el("td", { class: "num" }, ci(p.statistic, p.ci_low, p.ci_high, false)), el("td", {}, p.pareto ? "✓" : ""), el("td", {}, (p.dominated_by || []).join(", ")))))));
    }
    return out.length ? el("section", {}, el("h2", {}, "Cost frontier"), out) : null;
  }

  DQ.views.generalization = async () => {
    const secs = DQ.data.index.sections || [];
    const plots = DQ.data.index.plots.filter((p) => /generalization_forest|accuracy_vs_cost|cost_frontier/.test(p.title));
    const parts = [];
    for (const sec of secs) {
      const gens = sec.generalization || [];
      const groups = [...new Set(gens.map((g) => g.by + "\u0000" + g.reference))];
      for (const key of groups) {
        const [by, ref] = key.split("\u0000");
        const mine = gens.filter((g) => g.by === by && g.reference === ref);
        parts.push(el("h2", {}, "By " + by + ": against " + ref), ...mine.map(forest));
        const table = crossTask(mine);
        if (table) parts.push(el("h3", {}, "Cross-task table (Δ vs " + ref + ")"), table);
      }
      parts.push(overall(sec), frontier(sec));
    }
    const shown = parts.filter(Boolean);
    const view = el("div", { class: "view", id: "generalization" }, shown.length ? shown : el("p", {}, "no generalization report in these results (dq study writes one; dq compare --by builds one)"),
      plots.map((p) => el("figure", {}, el("img", { src: p.src, alt: p.title }), el("figcaption", {}, p.title))));
    // CSP forbids inline style attributes: place the bars from their data attributes via CSSOM.
    for (const b of view.querySelectorAll(".forest-bar")) {
      const c = b.querySelector(".ci"), pt = b.querySelector(".pt");
      c.style.left = c.dataset.lo; c.style.width = "calc(" + c.dataset.hi + " - " + c.dataset.lo + ")";
      pt.style.left = pt.dataset.x;
    }
    return view;
  };
})();
