/* Two runs side by side: two pickers, the tool calls aligned, the checks compared, each file
   that differs as a unified diff, then both transcripts in two columns. Everything compared
   is computed by runner/_report/pairs.py when the page is built, one JSON element per pair of
   runs of the same scenario; a pair picked in the other order is drawn flipped. A pair across
   a comparison's two results is drawn by across.js. */

const extrasCache = new Map();

// A result's extras (views.ResultExtras): the SKILL.md texts and the pairs offered.
function extrasOf(result) {
  if (!extrasCache.has(result)) {
    extrasCache.set(result, readJson("extras-" + result) || { skills: {}, pairs: [], default: null });
  }
  return extrasCache.get(result);
}

function partnersOf(result, index) {
  return extrasOf(result)
    .pairs.filter((p) => p[0] === index || p[1] === index)
    .map((p) => (p[0] === index ? p[1] : p[0]));
}

// The run to compare a run with from its row: the same scenario and trial in another lane,
// the A/B effect's other lane first; the pair ordered as the lanes are.
function partnerOf(result, index) {
  const res = data.results[result];
  const rows = res.rows;
  const me = rows[index];
  const order = res.lanes.map((l) => l.lane);
  const others = partnersOf(result, index).filter((j) => rows[j].trial === me.trial && rows[j].lane !== me.lane);
  if (!others.length) return null;
  const want = me.lane === order[0] ? order[1] : order[0];
  const j = others.find((k) => rows[k].lane === want) ?? others[0];
  const first = order.indexOf(me.lane) <= order.indexOf(rows[j].lane);
  return { a: first ? index : j, b: first ? j : index, label: rows[j].lane };
}

function showSide(a, b) {
  state.side = { a: a, b: b };
  showView("side");
  document.getElementById("view-side").scrollIntoView();
}

const runLabel = (row) => row.scenario + " · " + row.lane + " #" + row.trial + " · " + row.status;

// A diff from A to B read from B to A: + and - swap, and in each changed stretch the removed
// lines come first again, as a unified diff has them.
function flipLines(lines) {
  const out = [];
  let dels = [];
  let adds = [];
  const flush = () => {
    out.push(...dels, ...adds);
    dels = [];
    adds = [];
  };
  for (const line of lines) {
    if (line[0] === "+") dels.push("-" + line.slice(1));
    else if (line[0] === "-") adds.push("+" + line.slice(1));
    else {
      flush();
      out.push(line.startsWith("@@") ? line.replace(/^@@ -(\S+) \+(\S+) @@/, "@@ -$2 +$1 @@") : line);
    }
  }
  flush();
  return out;
}

function oriented(pair, a) {
  if (pair.a === a) return pair;
  return {
    a: pair.b,
    b: pair.a,
    tools: pair.tools.map(([x, y]) => [y, x]),
    checks: pair.checks.map((c) => ({ name: c.name, a: c.b, b: c.a, differs: c.differs })),
    files: pair.files.map((f) => Object.assign({}, f, { a: f.b, b: f.a, lines: flipLines(f.lines || []) })),
    files_note: pair.files_note,
  };
}

function step(s) {
  if (s == null) return h("span", { class: "gap", text: "—" });
  return [
    h("span", { class: "tool-name", text: s.name }),
    s.hint ? h("span", { class: "hint", text: " " + s.hint }) : null,
  ];
}

// A run's top-level tool calls, as runner/_report/views.py counts them for the alignment.
const callsOf = (d) => (d.timeline.items || []).filter((it) => it.kind === "tool_call");

function toolsTable(pair, da, db) {
  if (!pair.tools.length) return h("p", { class: "muted", text: "Neither run called a tool." });
  const [ca, cb] = [callsOf(da), callsOf(db)];
  const rows = pair.tools.map(([x, y]) => {
    const [sa, sb] = [x == null ? null : ca[x], y == null ? null : cb[y]];
    return { a: sa, b: sb, same: sa != null && sb != null && sa.name === sb.name };
  });
  return h(
    "table",
    { class: "grid aligned", data: { testid: "side-tools" } },
    h("thead", null, h("tr", null, h("th", { text: "#" }), h("th", { text: "A" }), h("th", { text: "B" }))),
    h(
      "tbody",
      null,
      rows.map((t, i) =>
        h(
          "tr",
          { class: t.same ? null : "differs", data: { same: String(t.same) } },
          h("td", { class: "num", text: i + 1 }),
          h("td", null, step(t.a)),
          h("td", null, step(t.b)),
        ),
      ),
    ),
  );
}

function outcome(passed, check) {
  if (passed == null) return h("span", { class: "muted", text: "not checked" });
  const badge = h("span", { class: "badge " + (passed ? "good" : "bad"), text: passed ? "pass" : "fail" });
  return [badge, check ? " " + check.detail : null];
}

function checksTable(pair, da, db) {
  const detail = (d, name) => d.checks.find((c) => c.name === name);
  if (!pair.checks.length) return h("p", { class: "muted", text: "No checks in either run." });
  return h(
    "table",
    { class: "grid", data: { testid: "side-checks" } },
    h("thead", null, h("tr", null, ["check", "A", "B"].map((c) => h("th", { text: c })))),
    h(
      "tbody",
      null,
      pair.checks.map((c) =>
        h(
          "tr",
          { class: c.differs ? "differs" : null, data: { differs: String(c.differs) } },
          h("td", null, c.differs ? "≠ " : null, c.name),
          h("td", null, outcome(c.a, detail(da, c.name))),
          h("td", null, outcome(c.b, detail(db, c.name))),
        ),
      ),
    ),
  );
}

function filesView(pair) {
  if (pair.files_note) return h("p", { class: "muted", text: pair.files_note });
  if (!pair.files.length) return h("p", { class: "muted", text: "Both runs left every file the same." });
  return pair.files.map((f) =>
    h(
      "div",
      { class: "file-diff", data: { testid: "side-file", path: f.path } },
      h(
        "div",
        null,
        h("code", { class: "path", text: f.path }),
        h("span", { class: "muted", text: " · A " + f.a + ", B " + f.b }),
      ),
      f.note ? h("p", { class: "muted", text: f.note }) : diffView(f.lines, f.cut),
    ),
  );
}

// A run's transcript as a column; from: the result it is of, when not the one shown.
function sideColumn(row, label, d, from, skills) {
  return h(
    "div",
    { class: "side-col", data: { testid: "side-col-" + label } },
    h(
      "h3",
      null,
      label + ": " + (from ? from + " · " : "") + row.scenario + " · " + row.lane + " #" + row.trial + " ",
      h("span", { class: "badge " + (row.passed ? "good" : "bad"), text: row.status }),
    ),
    runDetail(d, row, null, skills),
  );
}

// Under the pickers: the pair compared (A → B), then the two transcripts.
function sideBody(pair, da, db, colA, colB) {
  return [
    h("h2", { text: "Tool calls, aligned" }),
    toolsTable(pair, da, db),
    h("h2", { text: "Checks" }),
    checksTable(pair, da, db),
    h("h2", { text: "Files that differ (A → B)" }),
    h("div", { data: { testid: "side-files" } }, filesView(pair)),
    h("h2", { text: "Transcripts" }),
    h("div", { class: "side-cols" }, colA, colB),
  ];
}

function picker(testid, label, options, value, onChange) {
  const select = h(
    "select",
    { data: { testid: testid }, on: { change: () => onChange(Number(select.value)) } },
    options.map((o) => h("option", { value: o.value, text: o.text })),
  );
  select.value = String(value);
  return h("label", { class: "side-pick" }, label + " ", select);
}

function renderSide() {
  const view = document.getElementById("view-side");
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderSide, { once: true });
    return;
  }
  if (state.side && state.side.compare != null) return renderAcross(view);
  const r = state.result;
  const result = data.results[r];
  const extras = result ? extrasOf(r) : { pairs: [] };
  if (!extras.pairs.length) {
    const none = "No two runs of the same scenario in this result to put side by side.";
    fill(view, h("p", { class: "muted", text: none }));
    return;
  }
  const first = extras.default || extras.pairs[0];
  const pick = state.side || { a: first[0], b: first[1] };
  state.side = pick;
  const paired = [...new Set(extras.pairs.flat())].sort((x, y) => x - y);
  const options = (indexes) => indexes.map((i) => ({ value: i, text: runLabel(result.rows[i]) }));
  const choose = (a, b) => {
    state.side = { a: a, b: b };
    renderSide();
  };
  const onA = (a) => {
    const partners = partnersOf(r, a);
    const keep = partners.includes(pick.b);
    const other = partnerOf(r, a);
    choose(a, keep ? pick.b : other ? (other.a === a ? other.b : other.a) : partners[0]);
  };
  const lo = Math.min(pick.a, pick.b);
  const hi = Math.max(pick.a, pick.b);
  const pair = oriented(readJson("pair-" + r + "-" + lo + "-" + hi), pick.a);
  const [da, db] = [readJson(result.rows[pick.a].detail), readJson(result.rows[pick.b].detail)];
  fill(
    view,
    h(
      "div",
      { class: "side-pickers" },
      picker("side-a", "A", options(paired), pick.a, onA),
      picker("side-b", "B", options(partnersOf(r, pick.a).sort((x, y) => x - y)), pick.b, (b) => choose(pick.a, b)),
      h("span", { class: "muted", text: "Runs of the same scenario can be put side by side." }),
    ),
    sideBody(pair, da, db, sideColumn(result.rows[pick.a], "A", da), sideColumn(result.rows[pick.b], "B", db)),
  );
}
