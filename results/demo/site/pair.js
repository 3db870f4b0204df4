// Pair view: the docs on which two runs disagree, side by side.
"use strict";
(() => {
  const { el, fmt, signed, pval } = DQ;
  const PAGE = 25;

  // Discordant docs from the per-doc values compare_runs tests: for 0/1 metrics a doc is
  // discordant when exactly one run scores it (>0.5), as in McNemar's n01 / n10.
  DQ.discordant = (va, vb) => {
    const binary = va.concat(vb).every((v) => v === null || v === 0 || v === 1);
    const out = [];
    for (let i = 0; i < va.length; i++) {
      const a = va[i], b = vb[i];
      if (a === null || b === null) continue;
      if (binary ? a > 0.5 !== b > 0.5 : a !== b) out.push({ i, side: (binary ? a > 0.5 : a > b) ? "a" : "b", a, b });
    }
    return { binary, docs: out };
  };

  function reported(task, a, b, metric, filter) {
    return DQ.data.index.comparisons.find(
      (c) => c.task === task && c.metric === metric && c.filter === filter && ((c.a_id === a && c.b_id === b) || (c.a_id === b && c.b_id === a)),
    );
  }

  function side(label, run, td, i, score, filter, cls) {
    const subq = run.subq[i] || [];
    const answer = (run.answer[filter] || [])[i];
    return el(
      "div",
      { class: "side " + cls },
      el("h4", {}, label, " ", el("span", { class: "score" }, "score " + fmt(score, 2))),
      run.flags[i] && run.flags[i].length ? el("div", { class: "flags" }, "flags: " + run.flags[i].join(", ")) : null,
      el("div", { class: "k" }, subq.length ? "sub-questions" : "no sub-questions"),
      subq.length ? el("ol", { class: "subq" }, subq.map((s) => el("li", {}, s))) : null,
      answer !== undefined && answer !== null && answer.trim() !== (run.output[i] || "").trim() ? el("div", { class: "answer" }, el("span", { class: "k" }, "answer: "), el("code", {}, answer)) : null,
      el("div", { class: "k" }, "solver output"),
      el("pre", { class: "output" }, run.output[i] || ""),
    );
  }

  DQ.views.pair = async (params) => {
    const index = DQ.data.index;
    const t = DQ.task(params.get("task") || 0);
    if (!t) throw new Error("no such task");
    const ids = t.runs;
    const a = Number(params.get("a") ?? ids[0]);
    const b = Number(params.get("b") ?? ids[Math.min(1, ids.length - 1)]);
    const metric = params.get("metric") || t.metrics[0];
    const filter = params.get("filter") || t.default_filter;
    const which = params.get("side") || "all";
    const q = (params.get("q") || "").toLowerCase();
    const page = Number(params.get("page") || 0);
    const [td, ra, rb] = await Promise.all([DQ.load("task_" + t.id), DQ.load("task_" + t.id + "_run_" + a), DQ.load("task_" + t.id + "_run_" + b)]);
    const key = metric + "|" + filter;
    const va = (td.values[a] || {})[key], vb = (td.values[b] || {})[key];
    if (!va || !vb) throw new Error("metric " + key + " is missing for one of the runs");
    const { binary, docs } = DQ.discordant(va, vb);
    const nA = docs.filter((d) => d.side === "a").length;
    const nB = docs.length - nA;
    const cur = Object.fromEntries(params);
    const set = (k) => (v) => DQ.go("pair", Object.assign({}, cur, { task: t.id, a, b, metric, filter, page: 0, [k]: v }));
    const runOpts = ids.map((id) => [id, DQ.run(id).label]);
    const matches = (d) =>
      (which === "all" || d.side === which) &&
      (!q || [td.question[d.i], td.gold[d.i], ra.output[d.i], rb.output[d.i], String(td.doc_ids[d.i])].some((s) => (s || "").toLowerCase().includes(q)));
    const shown = docs.filter(matches);
    const c = reported(t.task, a, b, metric, filter);
    const search = el("input", { type: "search", placeholder: "search question, gold, outputs…", value: params.get("q") || "", id: "pair-search" });
    search.addEventListener("change", () => set("q")(search.value));
    const la = DQ.run(a).label, lb = DQ.run(b).label;
    return el(
      "div",
      { class: "view pair" },
      el(
        "div",
        { class: "controls" },
        DQ.select(index.tasks.map((x) => [x.id, x.task]), t.id, (v) => DQ.go("pair", { task: v, a, b }), { "aria-label": "task" }),
        DQ.select(t.metrics.map((m) => [m, m]), metric, set("metric"), { "aria-label": "metric" }),
        t.filters.length > 1 ? DQ.select(t.filters.map((f) => [f, "filter: " + f]), filter, set("filter"), { "aria-label": "filter" }) : null,
        el("label", {}, "A ", DQ.select(runOpts, a, set("a"), { id: "pair-a" })),
        el("button", { type: "button", on: { click: () => DQ.go("pair", Object.assign({}, cur, { a: b, b: a, side: which === "a" ? "b" : which === "b" ? "a" : "all" })) } }, "⇄ swap"),
        el("label", {}, "B ", DQ.select(runOpts, b, set("b"), { id: "pair-b" })),
      ),
      el(
        "div",
        { class: "summary" },
        el("div", {}, el("b", {}, la), " mean " + fmt(va.reduce((s, x) => s + (x || 0), 0) / va.length, 4), " · ", el("b", {}, lb), " mean " + fmt(vb.reduce((s, x) => s + (x || 0), 0) / vb.length, 4)),
        c ? el("div", {}, "reported: " + c.b + " − " + c.a + " = " + signed(c.diff) + " [" + fmt(c.ci_low) + ", " + fmt(c.ci_high) + "], " + c.test + " p = " + pval(c.p_value) + ", adjusted p = " + pval(c.p_adjusted) + (c.significant ? " (significant)" : "")) : el("div", {}, "no reported comparison for this pair"),
        el(
          "div",
          { class: "counts" },
          el("span", { id: "discordant-count", dataset: { count: docs.length, a: nA, b: nB } }, String(docs.length)),
          binary ? " discordant docs: " : " docs with different scores: ",
          el("a", { href: DQ.href("pair", Object.assign({}, cur, { side: "a", page: 0 })) }, nA + " where only A (" + la + ") is " + (binary ? "right" : "higher")),
          ", ",
          el("a", { href: DQ.href("pair", Object.assign({}, cur, { side: "b", page: 0 })) }, nB + " where only B (" + lb + ") is " + (binary ? "right" : "higher")),
        ),
      ),
      el(
        "div",
        { class: "controls" },
        DQ.select([["all", "both directions"], ["a", "A right, B wrong"], ["b", "B right, A wrong"]], which, set("side"), { "aria-label": "direction", id: "pair-side" }),
        search,
        el("span", { id: "pair-shown" }, shown.length + " shown"),
      ),
      pager(shown.length, page, cur),
      el(
        "div",
        { class: "docs" },
        shown.slice(page * PAGE, (page + 1) * PAGE).map((d) =>
          el(
            "article",
            { class: "doc-card " + (d.side === "a" ? "a-wins" : "b-wins") },
            el("h3", {}, el("a", { href: DQ.href("doc", { task: t.id, doc: td.doc_ids[d.i] }) }, "doc " + td.doc_ids[d.i] + " →")),
            el("div", { class: "question" }, td.question[d.i]),
            el("div", { class: "gold" }, el("span", { class: "k" }, "gold: "), el("code", {}, td.gold[d.i])),
            el("div", { class: "sides" }, side("A · " + la, ra, td, d.i, d.a, filter, "a"), side("B · " + lb, rb, td, d.i, d.b, filter, "b")),
          ),
        ),
      ),
      pager(shown.length, page, cur),
    );
  };

  function pager(total, page, cur) {
    const pages = Math.ceil(total / PAGE);
    if (pages <= 1) return null;
    const link = (p, text) => el("a", { href: DQ.href("pair", Object.assign({}, cur, { page: p })), class: p === page ? "current" : null }, text);
    return el("div", { class: "pager" }, page > 0 ? link(page - 1, "‹ prev") : null, " page " + (page + 1) + " / " + pages + " ", page < pages - 1 ? link(page + 1, "next ›") : null);
  }
})();
