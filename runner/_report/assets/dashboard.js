/* The runs table, the A/B statistics, the comparisons and the page's set-up; the last part
   of the page script, so it runs once every function above is defined. */

// ---- the runs table ----------------------------------------------------------------------

// As the terminal's (runner/_results/render_suite.py _badge): a Skill call whose result was an
// error (an unknown skill) is no invocation, and says so.
function skillBadge(row) {
  if (row.skills == null) return null; // a lane without a skill
  const badge = (good, text) =>
    h("span", {
      class: "badge " + (good ? "good" : "bad"),
      data: { testid: "skill-badge" },
      title: text, // the whole of it, where the cell cuts it short
      text: text,
    });
  if (row.skills.length) return badge(true, "invoked: " + row.skills.join(", "));
  if (row.skill_errors.length) return badge(false, "skill call failed: " + row.skill_errors.join(", "));
  return badge(false, "not invoked");
}

// The runs table is a grid of divs, not a <table>: a row off screen then costs no layout
// (content-visibility), where a table lays out all thousand rows before its first paint.
// One row built by h(), then cloned for every run: cloning is several times faster than
// building eleven elements a row, and a thousand rows are drawn at load.
let rowTemplate = null;

function runGroup(row, index) {
  if (rowTemplate == null) {
    // data-label: the column's name, shown before the value where the grid stacks (narrow).
    const cell = ([label, cls]) => h("div", { role: "cell", class: cls, data: { label } });
    const line = h(
      "div",
      { class: "run-row", role: "row", tabindex: 0, "aria-expanded": "false" },
      h("div", { role: "cell", class: "caret", text: "▸" }),
      [
        ["scenario"],
        ["lane"],
        ["trial", "num"],
        ["status"],
        ["cost", "num"],
        ["tokens in / out", "num"],
        ["turns", "num"],
        ["duration", "num"],
        ["skill"],
      ].map(cell),
    );
    rowTemplate = h("div", { class: "run", role: "rowgroup" }, line);
  }
  const group = rowTemplate.cloneNode(true);
  const line = group.firstChild;
  group.dataset.lane = line.dataset.lane = row.lane;
  group.dataset.scenario = line.dataset.scenario = row.scenario;
  line.dataset.detail = row.detail;
  line.dataset.row = index;
  const [, scenario, lane, trial, status, cost, tokens, turns, duration, skill] = line.children;
  scenario.textContent = row.scenario;
  lane.textContent = row.lane;
  trial.textContent = row.trial;
  append(status, [
    h("span", { class: "badge " + (row.passed ? "good" : "bad"), text: row.status }),
    row.cached ? h("span", { class: "tag", text: "cached" }) : null,
  ]);
  cost.textContent = row.cost;
  tokens.textContent = count(row.tokens_in) + " / " + count(row.tokens_out);
  turns.textContent = row.turns == null ? dash : row.turns;
  duration.textContent = row.duration;
  append(skill, [skillBadge(row)]);
  return group;
}

// The rows of the result shown: a run's line names its row by index (data-row).
const currentRows = () => data.results[state.result].rows;

function toggleRun(line) {
  if (document.readyState === "loading") {
    // The transcripts come after this script in the page: wait until they are parsed.
    document.addEventListener("DOMContentLoaded", () => toggleRun(line), { once: true });
    return;
  }
  const open = line.getAttribute("aria-expanded") !== "true";
  let detail = line.nextElementSibling;
  if (open && detail == null) {
    // Parsed and drawn on first opening only: a page of a thousand runs loads fast.
    detail = h(
      "div",
      { class: "detail", role: "row" },
      h(
        "div",
        { role: "cell" },
        runDetail(readJson(line.dataset.detail), currentRows()[line.dataset.row], {
          result: state.result,
          index: Number(line.dataset.row),
        }),
      ),
    );
    line.after(detail);
  }
  if (detail) detail.hidden = !open;
  line.parentElement.classList.toggle("open", open);
  line.setAttribute("aria-expanded", String(open));
}

function applyFilter() {
  const bodies = document.querySelectorAll("#runs-body > .run");
  let shown = 0;
  for (const body of bodies) {
    body.hidden =
      (state.lane != null && body.dataset.lane !== state.lane) ||
      (state.scenario != null && body.dataset.scenario !== state.scenario);
    if (!body.hidden) shown += 1;
  }
  for (const button of document.querySelectorAll("#filters button")) {
    button.setAttribute("aria-pressed", String((button.dataset.lane || null) === state.lane));
  }
  document.getElementById("scenario-filter").value = state.scenario == null ? "" : state.scenario;
  document.getElementById("clear-filters").hidden = state.lane == null && state.scenario == null;
  document.getElementById("runs-shown").textContent = "Showing " + shown + " of " + plural(bodies.length, "run");
}

function renderFilters(result) {
  const button = (lane, label) =>
    h("button", {
      type: "button",
      class: "filter",
      data: { testid: "filter-" + (lane || "all"), lane: lane || "" },
      text: label,
      on: {
        click: () => {
          state.lane = lane;
          applyFilter();
        },
      },
    });
  fill(
    document.getElementById("filters"),
    h("span", { class: "label", text: "Lane" }),
    button(null, "All"),
    result ? result.lanes.map((l) => button(l.lane, l.label)) : [],
  );
  const scenarios = result ? result.charts.scenarios : [];
  fill(
    document.getElementById("scenario-filter"),
    h("option", { value: "", text: "All scenarios" }),
    scenarios.map((s) => h("option", { value: s, text: s })),
  );
}

// The runs of one scenario in one lane, opened: what a heat-map cell of the overview shows.
function openRuns(scenario, lane) {
  state.scenario = scenario;
  state.lane = lane;
  applyFilter();
  showView("runs");
  const lines = [...document.querySelectorAll("#runs-body > .run:not([hidden]) > .run-row")];
  for (const line of lines) if (line.getAttribute("aria-expanded") !== "true") toggleRun(line);
  document.getElementById("tabs").scrollIntoView({ block: "start" });
  if (lines.length) lines[0].focus({ preventScroll: true });
}

function renderInfo(result) {
  const info = document.getElementById("result-info");
  if (!result) {
    fill(info, h("p", { class: "missing", text: "No results in this report." }));
    return;
  }
  const hd = result.header;
  const t = hd.totals;
  fill(
    info,
    h("strong", { text: result.name }),
    ` · suite ${hd.suite} · ${hd.branch}@${hd.sha.slice(0, 7)} · ${hd.started_at} · ${hd.mode}`,
    ` · ${t.runs} runs: ${t.passed} passed, ${t.failed} failed · cost ${money(t.cost_usd)}`,
    ` · agent time ${secs(t.duration_ms)} `,
    hd.partial ? h("span", { class: "badge warn", text: "partial" }) : null,
  );
}

// The answer first: the headline lines runner/_results/render_ab.py words, above the tabs.
function renderHeadline(result) {
  const lines = result ? result.headline : [];
  const node = document.getElementById("headline");
  fill(node, lines.map((line) => h("p", { class: "headline-line", data: { testid: "headline-line" }, text: line })));
  node.hidden = lines.length === 0;
}

function renderRuns(result) {
  const fragment = document.createDocumentFragment();
  (result ? result.rows : []).forEach((row, i) => fragment.append(runGroup(row, i)));
  document.getElementById("runs-body").replaceChildren(fragment);
  renderFilters(result);
  applyFilter();
}

// ---- A/B ---------------------------------------------------------------------------------

// The level of the lanes', the metrics' and the pooled intervals (runner/_results/ab_report.py
// CONFIDENCE); an effect's own interval is at 1 - its alpha: wider after a sequential study,
// whose alpha is its last look's share of the 5%.
const CONFIDENCE = "95%";
const level = (alpha) =>
  Math.round(alpha * 100) / 100 === alpha ? pct(1 - alpha) : (100 * (1 - alpha)).toFixed(2) + "%";
const pValue = (p) => (p == null ? dash : p < 0.001 ? "< 0.001" : String(Number(p.toPrecision(2))));

function verdictBadge(verdict, testid) {
  return h("span", {
    class: "verdict verdict-" + verdict.replace(/ /g, "-"),
    data: { testid: testid, verdict: verdict },
    text: verdict,
  });
}

// A verdict and the model's one line on it, as it is worded: three cells of a grid, so the
// badges and the reasons of the lines above one another line up.
function verdictLine(label, verdict, reason, testid) {
  return [
    h("span", { class: "verdict-label", text: label }),
    verdictBadge(verdict, testid),
    h("span", { class: "reason", data: { testid: testid + "-reason" }, text: reason }),
  ];
}

// What to add to detect the margin at the power asked for: scenarios, unless trials would do
// and most of the spread is within scenarios (runner/_results/power.py advise decides which).
function adviceView(a, e, ab) {
  const aim = "To detect " + within(a.effect) + " at " + pct(ab.power) + " power: ";
  const scenarios = "about " + plural(a.scenarios_needed, "scenario") + " at " + plural(ab.trials, "trial") + " each";
  return h(
    "div",
    { class: "advice", data: { testid: "advice" } },
    h("p", {
      text:
        a.add === "trials"
          ? aim + "add trials, about " + a.trials_needed + " per scenario at these " +
            plural(e.scenarios_paired, "scenario") + " (or " + scenarios + ")."
          : aim + "add scenarios, " + scenarios + ".",
    }),
    h("p", {
      class: "muted",
      text:
        "Spread of the effect between scenarios: sd " + (Math.sqrt(a.between) * 100).toFixed(0) +
        " points; noise of one trial pair: sd " + (Math.sqrt(a.within) * 100).toFixed(0) + " points.",
    }),
  );
}

// McNemar over every pair as if each were a new task: an answer about these runs, kept apart
// from the verdict, which is about scenarios like these.
function pooledView(e) {
  const p = e.pooled;
  return h(
    "div",
    { class: "pooled", data: { testid: "pooled" } },
    h("h4", { text: "These runs only: true of these scenarios only, not a verdict" }),
    h("p", {
      class: "muted",
      text:
        signedPoints(p.diff) + " points over " + plural(e.pairs, "pair") + " (" + CONFIDENCE + " CI " +
        pointsRange(p.ci) + "), McNemar exact p " + (p.p_value < 0.001 ? "" : "= ") + pValue(p.p_value) +
        ": every (scenario, trial) pair counted as if independent.",
    }),
    table(
      ["", e.b + " passed", e.b + " failed"],
      [
        [h("th", { text: e.a + " passed" }), e.both, e.a_only],
        [h("th", { text: e.a + " failed" }), e.b_only, e.neither],
      ],
      { class: "grid two-by-two", data: { testid: "two-by-two" } },
    ),
  );
}

function effectView(e, ab) {
  const metricRows = e.metrics.map((m) => {
    const f = METRICS[m.metric] || { label: m.metric, plain: String, delta: String };
    return [
      f.label,
      m.scenarios,
      m.pairs,
      f.plain(m.a_mean),
      f.plain(m.b_mean),
      f.delta(m.diff),
      change(m.ratio),
      interval(m.ci, change),
    ];
  });
  return h(
    "section",
    { class: "effect", data: { testid: "effect" } },
    h("h3", { text: e.b + " over " + e.a }),
    h(
      "div",
      { class: "verdicts" },
      verdictLine("pass rate", e.verdict, e.reason, "verdict"),
      verdictLine("cost per run", e.cost.verdict, e.cost.reason, "cost-verdict"),
    ),
    e.advice ? adviceView(e.advice, e, ab) : null,
    table(
      [
        "scenarios",
        "pairs",
        "unpaired",
        "pass rate " + e.b + " − " + e.a,
        level(e.alpha) + " interval",
        "p-value (paired t)",
        "within " + within(e.margin) + " (TOST p)",
      ],
      [
        [
          e.scenarios_paired,
          e.pairs,
          e.unpaired,
          points(e.diff),
          pointsRange(e.ci),
          pValue(e.p_value),
          pValue(e.equivalence_p),
        ],
      ],
      { class: "grid", data: { testid: "effect-figures" } },
    ),
    e.pooled ? pooledView(e) : null,
    h("h4", {
      text:
        "Cost, turns and duration per run (over scenarios; the " + CONFIDENCE +
        " interval is of the change, B over A)",
    }),
    table(
      [
        "metric",
        "scenarios",
        "pairs",
        e.a + " mean",
        e.b + " mean",
        e.b + " − " + e.a,
        "change",
        "interval",
      ],
      metricRows,
    ),
    h("h4", { text: "By scenario" }),
    table(
      ["scenario", "pairs", e.a + " passed", e.b + " passed"],
      e.scenarios.map((s) => [s.scenario, s.pairs, s.a_passed, s.b_passed]),
    ),
  );
}

// ab --until-decided: each look, its level and its verdicts, and what stopping saved.
function sequentialView(q, effects) {
  return h(
    "section",
    { class: "sequential", data: { testid: "sequential" } },
    h("h2", { text: "Sequential study (ab --until-decided)" }),
    h("p", { class: "reason", data: { testid: "sequential-stopped" }, text: "Stopped: " + q.stopped }),
    h("p", {
      data: { testid: "sequential-runs" },
      text:
        q.runs + " of at most " + plural(q.max_runs, "run") + " (" + pct(1 - q.runs / q.max_runs) + " saved); " +
        "rounds of " + plural(q.round_trials, "trial") + " per scenario, up to " + q.max_trials + ".",
    }),
    h("p", {
      class: "muted",
      text:
        "Each look tests at its own share of the level (O'Brien-Fleming-type spending), so looking " +
        "after every round does not raise the rate of false verdicts.",
    }),
    table(
      ["look", "trials per scenario", "level", ...effects.map((e) => e.b + " over " + e.a)],
      q.looks.map((look, i) => [
        i + 1,
        look.trials,
        "p < " + String(Number(look.alpha.toPrecision(2))),
        ...look.verdicts.map((v) => verdictBadge(v, "look-verdict")),
      ]),
      { class: "grid", data: { testid: "looks" } },
    ),
  );
}

function renderAb(result) {
  const view = document.getElementById("view-ab");
  if (!result) return fill(view, h("p", { class: "missing", text: "No results in this report." }));
  const ab = result.ab;
  if (!ab) {
    return fill(
      view,
      h("p", {
        class: "muted",
        text: "This result ran one lane: the A/B view needs two or more lanes, or an A/A copy of one.",
      }),
    );
  }
  const passK = ab.lanes.flatMap((l) =>
    l.pass_k.map((p) => [l.lane, p.k, pct(p.pass_at_k), pct(p.pass_hat_k)]),
  );
  const noise = ab.noise;
  return fill(
    view,
    h("p", {
      class: "muted",
      text:
        `${plural(ab.scenarios, "scenario")} × ${plural(ab.trials, "trial")}; ` +
        "runs paired by scenario and trial. A verdict is about scenarios like these, not only " +
        "these: a paired t-test over each scenario's difference, and equivalent when the " +
        "difference is shown to lie within the margin.",
    }),
    h("h2", { text: "Lanes" }),
    table(
      [
        "lane",
        "scenarios",
        "runs",
        "pass rate",
        CONFIDENCE + " interval (scenarios like these)",
        "skill invoked",
        "skill call failed",
        "mean cost",
        "mean turns",
        "mean duration",
      ],
      ab.lanes.map((l) => [
        l.lane,
        l.scenarios,
        l.runs,
        rate(l.pass_rate),
        interval(l.pass_rate.ci, pct),
        l.skill_invoked ? rate(l.skill_invoked) : dash,
        l.skill_errors
          ? h("span", {
              class: "badge bad",
              data: { testid: "skill-errors" },
              text: plural(l.skill_errors, "run"),
            })
          : dash,
        money(l.cost_usd),
        METRICS.num_turns.plain(l.num_turns),
        secs(l.duration_ms),
      ]),
      { class: "grid", data: { testid: "ab-lanes" } },
    ),
    passK.length
      ? [
          h("h3", { text: "pass@k and pass^k" }),
          table(["lane", "k", "pass@k", "pass^k"], passK, { class: "grid", data: { testid: "pass-k" } }),
        ]
      : null,
    h("h2", { text: "Effects" }),
    ab.effects.length
      ? ab.effects.map((e) => effectView(e, ab))
      : h("p", { class: "muted", text: "One lane: no effect to measure." }),
    ab.sequential ? sequentialView(ab.sequential, ab.effects) : null,
    h("h2", { text: "Noise floor" }),
    noise
      ? h(
          "div",
          { data: { testid: "noise" } },
          table(
            ["A/A lane", "pairs", "flips", "flip rate", CONFIDENCE + " interval", "p-value"],
            [
              [
                noise.lane,
                noise.pairs,
                noise.flips,
                rate(noise.flip_rate),
                interval(noise.flip_rate.ci, pct),
                pValue(noise.p_value),
              ],
            ],
          ),
          h("p", {
            class: "muted",
            text: "How often a run's outcome flips with nothing changed: an effect no larger is noise.",
          }),
        )
      : h("p", { class: "muted", text: "No A/A copy in this result, so no noise floor." }),
  );
}

// ---- comparisons -------------------------------------------------------------------------

const STATUSES = ["regressed", "improved", "unchanged", "new", "removed"];

function passed(p) {
  return p == null ? dash : p ? "pass" : "fail";
}

function comparisonView(c, index) {
  const k = c.comparison;
  const side = (hd) => hd.branch + "@" + hd.sha.slice(0, 7) + ", " + hd.started_at;
  return h(
    "section",
    { class: "comparison", data: { testid: "comparison" } },
    h("h2", null, c.before + " → " + c.after),
    // Results of another suite, lanes, trials or model: its figures are no change of anything.
    k.not_like_for_like.length
      ? h("p", {
          class: "badge warn unlike",
          data: { testid: "not-like-for-like" },
          text: "not like for like: " + k.not_like_for_like.join("; "),
        })
      : null,
    h("p", { class: "muted", text: "before: " + side(k.before) + " · after: " + side(k.after) }),
    h(
      "p",
      null,
      STATUSES.map((s) => h("span", { class: "badge st-" + s, text: k.counts[s] + " " + s })),
    ),
    h(
      "ul",
      { class: "commentary", data: { testid: "commentary" } },
      k.commentary.map((line) => h("li", { text: line })),
    ),
    table(
      ["run", "status", "outcome", "exit", "cost", "Δ cost", "Δ turns", "Δ duration", ""],
      k.runs.map((r) => [
        r.run_id,
        h("span", { class: "badge st-" + r.status, text: r.status }),
        passed(r.passed_before) + " → " + passed(r.passed_after),
        (r.exit_reason_before || dash) + " → " + (r.exit_reason_after || dash),
        money(r.cost_usd.before) + " → " + money(r.cost_usd.after),
        signedMoney(r.cost_usd.delta),
        signed(r.num_turns.delta),
        signedSecs(r.duration_ms.delta),
        acrossButton(index, r.run_id),
      ]),
      { class: "grid", data: { testid: "compare-runs" } },
    ),
  );
}

function renderCompare() {
  if (document.readyState === "loading") {
    // Which runs have a pair side by side is written after the transcripts: wait for it.
    document.addEventListener("DOMContentLoaded", renderCompare, { once: true });
    return;
  }
  const view = document.getElementById("view-compare");
  if (!data.comparisons.length) {
    fill(
      view,
      h(
        "p",
        { class: "muted" },
        "No comparison in this report. To compare two stored runs: ",
        h("code", { text: "python -m runner report BEFORE AFTER" }),
      ),
    );
    return;
  }
  fill(view, ...data.comparisons.map((c, k) => comparisonView(c, k)));
}

// ---- views, results, theme ---------------------------------------------------------------

function showView(name) {
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  for (const view of document.querySelectorAll("main > section")) view.hidden = view.id !== "view-" + name;
  if (name === "side") renderSide(); // drawn when shown: it parses a pair and two transcripts
  drawCharts(); // a hidden overview's charts wait for their width
}

function showResult(index) {
  state.result = index;
  state.lane = null;
  state.side = null;
  state.scenario = null;
  const result = data.results[index];
  renderHeadline(result);
  renderInfo(result);
  renderRuns(result);
  renderAb(result);
  if (!document.getElementById("view-side").hidden) renderSide();
  renderOverview(result);
}

function setupPicker() {
  if (data.results.length < 2) return;
  const picker = document.getElementById("result-picker");
  fill(picker, ...data.results.map((r, i) => h("option", { value: i, text: r.name })));
  picker.value = String(state.result);
  picker.addEventListener("change", () => showResult(Number(picker.value)));
  document.getElementById("picker").hidden = false;
}

const dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

function chosenTheme() {
  try {
    return window.localStorage.getItem(THEME_KEY);
  } catch (_) {
    return null; // storage off (a file:// page may have none): follow the system
  }
}

function applyTheme(choice) {
  const theme = choice || (dark && dark.matches ? "dark" : "light");
  root.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  button.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
  button.title = "Switch to the " + (theme === "dark" ? "light" : "dark") + " theme";
}

function setupTheme() {
  applyTheme(chosenTheme());
  if (dark)
    dark.addEventListener("change", () => {
      if (!chosenTheme()) applyTheme(null);
    });
  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(THEME_KEY, next);
    } catch (_) {
      /* not kept: this page only */
    }
    applyTheme(next);
  });
}

function setup() {
  setupTheme();
  for (const tab of document.querySelectorAll("#tabs button"))
    tab.addEventListener("click", () => showView(tab.dataset.view));
  const runs = document.getElementById("runs-table");
  runs.addEventListener("click", (event) => {
    const line = event.target.closest(".run-row");
    if (line) toggleRun(line);
  });
  runs.addEventListener("keydown", (event) => {
    const line = event.target.closest(".run-row");
    if (line && event.target === line && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggleRun(line);
    }
  });
  const scenario = document.getElementById("scenario-filter");
  scenario.addEventListener("change", () => {
    state.scenario = scenario.value || null;
    applyFilter();
  });
  document.getElementById("clear-filters").addEventListener("click", () => {
    state.scenario = state.lane = null;
    applyFilter();
  });
  window.addEventListener("resize", drawCharts);
  setupPicker();
  showView("overview"); // the answer first: the charts, under the headline
  showResult(state.result);
  renderCompare();
  if (root.dataset.eager !== "1") markReady();
  else if (document.readyState !== "loading") expandAll();
  else document.addEventListener("DOMContentLoaded", expandAll, { once: true });
}

// The benchmark's baseline (<html data-eager="1">): every transcript drawn at load, once
// the page's transcripts (after this script) are parsed.
function expandAll() {
  for (const line of document.querySelectorAll(".run-row")) toggleRun(line);
  markReady();
}

function markReady() {
  performance.mark("report-ready");
  document.body.dataset.ready = "1";
  // A timeout queued in the next frame's callback runs once that frame (the first view's style,
  // layout and paint) is done: the benchmark's measure of "the first view is on screen".
  requestAnimationFrame(() =>
    setTimeout(() => {
      performance.mark("report-painted");
      document.body.dataset.painted = "1";
    }, 0),
  );
}

setup();
