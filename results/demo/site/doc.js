// Doc view: the full trace of one doc across every run of its task.
"use strict";
(() => {
  const { el, fmt } = DQ;

  function stage(name, s, open) {
    if (!s || typeof s !== "object") return null;
    const facts = ["backend", "prompt_tokens", "completion_tokens", "seconds", "calls", "cached", "truncated", "token_source"]
      .filter((k) => s[k] !== undefined && s[k] !== null)
      .map((k) => el("span", { class: "fact" + (k === "truncated" && s[k] ? " warn" : "") }, k.replace("_", " ") + ": " + String(s[k])));
    return el(
      "div",
      { class: "stage" },
      el("h5", {}, name, " ", facts),
      s.prompt !== undefined ? el("details", {}, el("summary", {}, "prompt (" + s.prompt.length + " chars)"), el("pre", {}, s.prompt)) : null,
      s.output !== undefined ? el("details", { open: open }, el("summary", {}, "output"), el("pre", { class: "output" }, s.output)) : null,
    );
  }

  function rounds(list) {
    if (!Array.isArray(list) || !list.length) return null;
    return el(
      "details",
      {},
      el("summary", {}, list.length + " dynamic rounds"),
      el("ol", { class: "rounds" }, list.map((r) => el("li", {}, el("div", {}, el("span", { class: "k" }, "sub-question: "), String(r.subquestion ?? "")), el("div", {}, el("span", { class: "k" }, "answer: "), String(r.answer ?? ""))))),
    );
  }

  function runBlock(run, entry, scores) {
    const tr = entry.trace || {};
    const subq = Array.isArray(tr.subquestions) ? tr.subquestions : [];
    return el(
      "section",
      { class: "run-trace", dataset: { run: run.id } },
      el("h3", {}, run.label, " ", scores.map(([k, v]) => el("span", { class: "score" + (v > 0.5 ? " right" : " wrong") }, k + " " + fmt(v, 2)))),
      tr.flags && tr.flags.length ? el("div", { class: "flags" }, "flags: " + tr.flags.join(", ")) : null,
      el("div", { class: "k" }, subq.length ? "parsed sub-questions" : "no sub-questions"),
      subq.length ? el("ol", { class: "subq" }, subq.map((s) => el("li", {}, String(s)))) : null,
      stage("decomposer", tr.decomposer, true),
      rounds(tr.rounds),
      stage("solver", tr.solver, true),
      stage("final", tr.final, true),
      el("div", { class: "answer" }, el("span", { class: "k" }, "filtered answer: "), Object.entries(entry.filtered || {}).map(([f, v]) => el("code", { title: "filter " + f }, v))),
      entry.trace ? null : el("details", { open: true }, el("summary", {}, "response (no trace)"), el("pre", { class: "output" }, entry.raw)),
    );
  }

  DQ.views.doc = async (params) => {
    const t = DQ.task(params.get("task") || 0);
    const td = await DQ.load("task_" + t.id);
    const docId = Number(params.get("doc") ?? td.doc_ids[0]);
    const pos = td.doc_ids.indexOf(docId);
    if (pos < 0) throw new Error("doc " + docId + " is not in " + t.task);
    const chunk = await DQ.load("task_" + t.id + "_docs_" + Math.floor(pos / td.chunk));
    const entry = chunk.docs[String(docId)];
    const doc = entry.doc || {};
    const nav = (p, text) => (p >= 0 && p < td.doc_ids.length ? el("a", { href: DQ.href("doc", { task: t.id, doc: td.doc_ids[p] }) }, text) : null);
    const scores = (id) => Object.entries(td.values[id] || {}).map(([k, v]) => [k.replace("|none", ""), v[pos]]).filter(([, v]) => v !== null);
    const q = (params.get("q") || "").toLowerCase();
    const runs = t.runs.map(DQ.run).filter((r) => entry.runs[String(r.id)] && r.label.toLowerCase().includes(q));
    const search = el("input", { type: "search", placeholder: "filter runs…", value: params.get("q") || "" });
    search.addEventListener("change", () => DQ.go("doc", { task: t.id, doc: docId, q: search.value }));
    const extra = Object.entries(doc).filter(([k]) => !["question", "context"].includes(k));
    return el(
      "div",
      { class: "view docview" },
      el("div", { class: "controls" }, el("a", { href: DQ.href("docs", { task: t.id }) }, "all docs"), nav(pos - 1, "‹ prev doc"), el("b", {}, " " + t.task + " · doc " + docId + " (" + (pos + 1) + " / " + td.doc_ids.length + ") "), nav(pos + 1, "next doc ›"), search),
      el("div", { class: "question" }, doc.question !== undefined ? String(doc.question) : td.question[pos]),
      doc.context ? el("details", {}, el("summary", {}, "context"), el("pre", {}, String(doc.context))) : null,
      el("div", { class: "gold" }, el("span", { class: "k" }, "gold: "), el("code", {}, entry.target)),
      extra.length ? el("details", {}, el("summary", {}, "all doc fields"), el("pre", {}, JSON.stringify(Object.fromEntries(extra), null, 2))) : null,
      el("div", { class: "traces" }, runs.map((r) => runBlock(r, entry.runs[String(r.id)], scores(r.id)))),
    );
  };
})();

// Doc list: every doc of a task with how many runs get it right, to find the docs that split runs.
(() => {
  const { el, fmt } = DQ;
  const PAGE = 100;

  DQ.views.docs = async (params) => {
    const index = DQ.data.index;
    const t = DQ.task(params.get("task") || 0);
    const td = await DQ.load("task_" + t.id);
    const metric = params.get("metric") || t.metrics[0];
    const key = metric + "|" + (params.get("filter") || t.default_filter);
    const q = (params.get("q") || "").toLowerCase();
    const page = Number(params.get("page") || 0);
    const cur = Object.fromEntries(params);
    const runs = t.runs.filter((id) => td.values[id] && td.values[id][key]);
    const rows = td.doc_ids
      .map((id, i) => {
        const v = runs.map((r) => td.values[r][key][i]).filter((x) => x !== null);
        return { doc: id, i, question: td.question[i], right: v.filter((x) => x > 0.5).length, mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null, n: v.length };
      })
      .filter((r) => !q || r.question.toLowerCase().includes(q) || String(r.doc) === q);
    const sort = { sort: params.get("sort") || "doc", dir: params.get("dir") || "asc" };
    const go = (extra) => DQ.go("docs", Object.assign({}, cur, { task: t.id }, extra));
    const cols = [
      { key: "doc", label: "doc", num: true, render: (r) => el("a", { href: DQ.href("doc", { task: t.id, doc: r.doc }) }, String(r.doc)) },
      { key: "question", label: "question", render: (r) => (r.question.length > 140 ? r.question.slice(0, 140) + "…" : r.question) },
      { key: "right", label: "runs right", num: true, render: (r) => r.right + " / " + r.n, title: "runs scoring this doc > 0.5" },
      { key: "mean", label: "mean score", num: true, render: (r) => fmt(r.mean, 2) },
    ];
    const search = el("input", { type: "search", placeholder: "search questions or a doc id…", value: params.get("q") || "" });
    search.addEventListener("change", () => go({ q: search.value, page: 0 }));
    const pages = Math.ceil(rows.length / PAGE);
    // Sort before paginating (DQ.table then sorts the page the same way).
    const sorted = rows;
    const col = cols.find((c) => c.key === sort.sort) || cols[0];
    const dir = sort.dir === "asc" ? 1 : -1;
    sorted.sort((a, b) => {
      const x = a[col.key], y = b[col.key];
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    return el(
      "div",
      { class: "view" },
      el(
        "div",
        { class: "controls" },
        DQ.select(index.tasks.map((x) => [x.id, x.task]), t.id, (v) => DQ.go("docs", { task: v }), { "aria-label": "task" }),
        DQ.select(t.metrics.map((m) => [m, m]), metric, (v) => go({ metric: v }), { "aria-label": "metric" }),
        search,
        el("span", {}, rows.length + " docs"),
        pages > 1 ? el("span", {}, page > 0 ? el("a", { href: DQ.href("docs", Object.assign({}, cur, { page: page - 1 })) }, "‹ prev") : null, " page " + (page + 1) + " / " + pages + " ", page < pages - 1 ? el("a", { href: DQ.href("docs", Object.assign({}, cur, { page: page + 1 })) }, "next ›") : null) : null,
      ),
      DQ.table(cols, sorted.slice(page * PAGE, (page + 1) * PAGE), sort, (k, d) => go({ sort: k, dir: d, page: 0 }), { id: "doc-list" }),
    );
  };
})();
