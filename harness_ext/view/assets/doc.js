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
      stage("decomposer", tr.decomposer, false),
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
      el("div", { class: "controls" }, nav(pos - 1, "‹ prev doc"), el("b", {}, " " + t.task + " · doc " + docId + " (" + (pos + 1) + " / " + td.doc_ids.length + ") "), nav(pos + 1, "next doc ›"), search),
      el("div", { class: "question" }, doc.question !== undefined ? String(doc.question) : td.question[pos]),
      doc.context ? el("details", {}, el("summary", {}, "context"), el("pre", {}, String(doc.context))) : null,
      el("div", { class: "gold" }, el("span", { class: "k" }, "gold: "), el("code", {}, entry.target)),
      extra.length ? el("details", {}, el("summary", {}, "all doc fields"), el("pre", {}, JSON.stringify(Object.fromEntries(extra), null, 2))) : null,
      el("div", { class: "traces" }, runs.map((r) => runBlock(r, entry.runs[String(r.id)], scores(r.id)))),
    );
  };
})();
