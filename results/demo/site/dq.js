// dq view core: lazy data loading, safe DOM building, hash routing.
// Every string from the data is put into the page as a text node (textContent); nothing from
// the data ever reaches innerHTML or an inline event handler.
"use strict";

const DQ = (window.DQ = {
  data: {},
  waiting: {},
  views: {},

  // data/<key>.js calls DQ.put(key, value): <script src> works on file://, fetch() does not.
  put(key, value) {
    DQ.data[key] = value;
    const w = DQ.waiting[key];
    if (w) w.resolve(value);
  },

  load(key) {
    if (key in DQ.data) return Promise.resolve(DQ.data[key]);
    if (!DQ.waiting[key]) {
      let resolve, reject;
      const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
      DQ.waiting[key] = { promise, resolve, reject };
      const s = document.createElement("script");
      s.src = "data/" + encodeURIComponent(key) + ".js";
      s.addEventListener("error", () => reject(new Error("cannot load data/" + key + ".js")));
      document.head.appendChild(s);
    }
    return DQ.waiting[key].promise;
  },
});

// el("a", {href: "#/x", class: "k"}, "text", child, ...): attributes are set one by one;
// strings become text nodes. `on` maps event names to functions (closures, not strings).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "value") node.value = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
DQ.el = el;

DQ.fmt = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? "—" : Number(x).toFixed(digits));
DQ.pct = (x) => (x === null || x === undefined ? "—" : (100 * x).toFixed(0) + "%");
DQ.signed = (x, digits = 3) => (x === null || x === undefined ? "—" : (x >= 0 ? "+" : "") + Number(x).toFixed(digits));
DQ.pval = (p) => (p === null || p === undefined ? "—" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
DQ.usd = (x) => (x === null || x === undefined ? "—" : x === 0 ? "0" : "$" + (x < 0.01 ? x.toExponential(2) : x.toFixed(2)));

DQ.run = (id) => DQ.data.index.runs[Number(id)];
DQ.task = (id) => DQ.data.index.tasks[Number(id)];
DQ.taskByName = (name) => DQ.data.index.tasks.find((t) => t.task === name);

// Routes are "#/<view>?k=v&...": every page state a researcher may want to share is a link.
DQ.route = () => {
  const h = location.hash.replace(/^#\/?/, "");
  const [view, query] = h.split("?");
  return { view: view || "leaderboard", params: new URLSearchParams(query || "") };
};
DQ.href = (view, params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return "#/" + view + (s ? "?" + s : "");
};
DQ.go = (view, params) => {
  location.hash = DQ.href(view, params);
};
DQ.setParam = (key, value) => {
  const r = DQ.route();
  const p = Object.fromEntries(r.params.entries());
  p[key] = value;
  history.replaceState(null, "", DQ.href(r.view, p));
};

// A <select> whose options are [value, label] pairs.
DQ.select = (options, current, onChange, attrs) =>
  el(
    "select",
    Object.assign({ on: { change: (e) => onChange(e.target.value) } }, attrs || {}),
    options.map(([v, label]) => el("option", { value: String(v), selected: String(v) === String(current) }, label)),
  );

// A sortable table: columns are {key, label, value(row), render(row), num, title}.
DQ.table = (columns, rows, state, onSort, attrs) => {
  const col = columns.find((c) => c.key === state.sort) || columns[0];
  const dir = state.dir === "asc" ? 1 : -1;
  const key = (r) => {
    const v = (col.value || ((x) => x[col.key]))(r);
    return v === null || v === undefined || Number.isNaN(v) ? null : v;
  };
  const sorted = rows.slice().sort((x, y) => {
    const a = key(x), b = key(y);
    if (a === null) return b === null ? 0 : 1; // missing values sink, whichever the direction
    if (b === null) return -1;
    return (a < b ? -1 : a > b ? 1 : 0) * dir;
  });
  const head = el(
    "tr",
    {},
    columns.map((c) =>
      el(
        "th",
        {
          class: (c.num ? "num " : "") + (c.key === col.key ? "sorted " + (dir > 0 ? "asc" : "desc") : ""),
          title: c.title || "sort by " + c.label,
          dataset: { key: c.key },
          on: { click: () => onSort(c.key, c.key === col.key && dir < 0 ? "asc" : "desc") },
        },
        c.label,
      ),
    ),
  );
  const body = sorted.map((r) =>
    el("tr", { class: r._class || null }, columns.map((c) => el("td", { class: c.num ? "num" : null }, c.render ? c.render(r) : DQ.fmt(key(r))))),
  );
  const table = el("table", Object.assign({ class: "grid" }, attrs || {}), el("thead", {}, head), el("tbody", {}, body));
  return el("div", { class: "scroll" }, table);
};

DQ.render = async () => {
  const main = document.getElementById("main");
  const r = DQ.route();
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === r.view || a.dataset.view + "" === r.view + "s");
  const view = DQ.views[r.view] || DQ.views.leaderboard;
  const node = el("div", { class: "view" }, el("p", { class: "loading" }, "loading…"));
  main.replaceChildren(node);
  try {
    const out = await view(r.params);
    if (main.firstChild === node) main.replaceChildren(out);
    document.body.dataset.rendered = location.hash || "#/";
  } catch (err) {
    main.replaceChildren(el("p", { class: "error" }, String(err && err.message ? err.message : err)));
  }
};

DQ.start = async () => {
  const index = await DQ.load("index");
  document.title = "dq view — " + index.title;
  document.getElementById("title").textContent = index.title;
  window.addEventListener("hashchange", DQ.render);
  await DQ.render();
};
