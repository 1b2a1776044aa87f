/* runner report, part 1 of the one page script (runner/_report/page.py joins the parts in
   one function scope): the DOM helper h(), the figures' formats and the page's data. Data
   reaches the DOM through createElement and text nodes only: transcripts are untrusted. */

const root = document.documentElement;
const THEME_KEY = "runner-report-theme";

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

const data = readJson("report-data") || { results: [], comparisons: [] };
// side: the pair shown side by side, {a, b} (runs of the result shown) or {compare, at} (a
// comparison's pair, across.js).
const state = { result: data.results.length - 1, lane: null, scenario: null, side: null };

// An element: h("td", {class: "num", text: "3", data: {lane: "x"}, on: {click: f}}, child, ...).
// Children are nodes, strings (as text nodes) or arrays of them; null and false are skipped.
function h(tag, props, ...kids) {
  return build(document.createElement(tag), props, kids);
}

// The same for SVG (the overview's charts): svg("circle", {cx: 3, data: {testid: "x"}}).
const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, props, ...kids) {
  return build(document.createElementNS(SVG_NS, tag), props, kids);
}

function build(node, props, kids) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") node.setAttribute("class", value); // an SVG element's className is read-only
    else if (key === "text") node.textContent = String(value);
    else if (key === "data") Object.assign(node.dataset, value);
    else if (key === "on") {
      for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  return append(node, kids);
}

function append(node, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    node.append(kid instanceof Node ? kid : String(kid)); // a string becomes a text node
  }
  return node;
}

// replaceChildren, with h's children: nested arrays flattened, null and false left out.
function fill(node, ...kids) {
  node.replaceChildren();
  return append(node, kids);
}

// ---- figures: formats only, as runner/_util/figures.py prints them; every figure is the model's ---

const dash = "-";
const pct = (x) => (x == null ? dash : (x * 100).toFixed(0) + "%");
const signedPoints = (x) => (x >= 0 ? "+" : "") + (x * 100).toFixed(0);
const points = (x) => (x == null ? dash : signedPoints(x) + " points");
const money = (x) => (x == null ? dash : "$" + x.toFixed(4));
const signedMoney = (x) => (x == null ? dash : (x >= 0 ? "+" : "-") + "$" + Math.abs(x).toFixed(4));
const secs = (ms) => (ms == null ? dash : (ms / 1000).toFixed(1) + "s");
const signedSecs = (ms) => (ms == null ? dash : (ms >= 0 ? "+" : "") + (ms / 1000).toFixed(1) + "s");
const signed = (n) => (n == null ? dash : (n >= 0 ? "+" : "") + n);
// A ratio of B over A as a change: 1.38 reads +38% (figures.change).
const change = (r) => (r == null ? dash : (r >= 1 ? "+" : "") + ((r - 1) * 100).toFixed(0) + "%");
// Not toLocaleString: Intl costs a millisecond a call or so, and the table makes thousands.
const count = (n) => (n == null ? dash : String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","));
const plural = (n, noun) => n + " " + noun + (n === 1 ? "" : "s");
const interval = (ci, f) => (ci == null ? dash : f(ci.low) + " to " + f(ci.high));
const pointsRange = (ci) =>
  ci == null ? dash : signedPoints(ci.low) + " to " + signedPoints(ci.high) + " points";
const within = (margin) => "±" + (margin * 100).toFixed(0) + " points";

const METRICS = {
  cost_usd: { label: "cost", plain: money, delta: signedMoney },
  num_turns: {
    label: "turns",
    plain: (x) => (x == null ? dash : x.toFixed(1)),
    delta: (x) => (x == null ? dash : (x >= 0 ? "+" : "") + x.toFixed(1)),
  },
  duration_ms: { label: "duration", plain: secs, delta: signedSecs },
};

function rate(r) {
  if (r == null) return dash;
  if (r.rate == null) return dash + " (0 runs)";
  return pct(r.rate) + " (" + r.successes + "/" + r.n + ")";
}

const isCell = (c) => c instanceof Element && (c.tagName === "TD" || c.tagName === "TH");

function table(head, rows, props) {
  return h(
    "table",
    Object.assign({ class: "grid" }, props || {}),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        head.map((c) => h("th", { text: c })),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((cells) =>
        h(
          "tr",
          null,
          cells.map((c) => (isCell(c) ? c : h("td", null, c))),
        ),
      ),
    ),
  );
}
