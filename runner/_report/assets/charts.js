/* The overview: charts under the headline, drawn as inline SVG from the numbers
   runner/_report/charts.py computed. Each chart is an <svg role="img"> with a label, and the
   same numbers as a table beneath it; every mark has a data-testid so tests can count them. */

const ROW = 26; // px per row of the row charts
const FONT = 7; // px a character of the 12px labels takes, about: to cut labels that would not fit

// A label cut to fit ``width`` px.
function shorten(text, width) {
  const most = Math.max(3, Math.floor(width / FONT));
  return text.length <= most ? text : text.slice(0, most - 1) + "…";
}

// A linear scale from [d0, d1] onto [r0, r1].
const scale = (d0, d1, r0, r1) => (x) => r0 + ((x - d0) / (d1 - d0 || 1)) * (r1 - r0);

const laneClass = (i) => "lane-" + (i % 6);

// A mark's own tooltip and accessible name.
const tip = (text) => svg("title", { text: text });

// Text at (x, y), anchored start, middle or end; the whole of a cut label in its tooltip.
function label(x, y, anchor, text, cls, whole) {
  return svg("text", { class: cls, x: x, y: y, "text-anchor": anchor, text: text }, whole ? tip(whole) : null);
}
const rowLabel = (x, y, text, width) => label(x, y + 4, "end", shorten(text, width), "row-label", text);
const value = (x, y, text, cls) => label(x, y + 4, "end", text, "value" + (cls ? " " + cls : ""));

function chartSvg(width, height, name, ...kids) {
  return svg(
    "svg",
    { class: "chart-svg", role: "img", "aria-label": name, viewBox: `0 0 ${width} ${height}`, width: "100%" },
    svg("title", { text: name }),
    kids,
  );
}

function axisX(x, ticks, format, y0, y1) {
  return ticks.map((t) => [
    svg("line", { class: "grid-line", x1: x(t), x2: x(t), y1: y0, y2: y1 }),
    label(x(t), y1 + 14, "middle", format(t), "tick"),
  ]);
}

function axisY(y, ticks, format, x0, x1) {
  return ticks.map((t) => [
    svg("line", { class: "grid-line", x1: x0, x2: x1, y1: y(t), y2: y(t) }),
    label(x0 - 6, y(t) + 4, "end", format(t), "tick"),
  ]);
}

// A figure: its title, the plot (drawn later, at the width it gets), the numbers as a table.
function chartFigure(testid, title, note, draw, head, rows, legend) {
  const plot = h("div", { class: "chart-plot" });
  const figure = h(
    "figure",
    { class: "chart", data: { testid: testid } },
    h("figcaption", null, h("h3", { text: title }), h("p", { class: "muted", text: note })),
    plot,
    legend || null,
    h(
      "details",
      { class: "chart-data" },
      h("summary", { text: "The numbers" }),
      table(head, rows, { class: "grid", data: { testid: testid + "-table" } }),
    ),
  );
  return { figure, plot, draw };
}

const LABEL = (w) => Math.min(170, Math.round(w * 0.3)); // the row charts' label column

// ---- 1. the effect of B over A, by scenario and overall ------------------------------------

function effectChart(e, confidence) {
  const rows = e.scenarios;
  const overall = points(e.diff) + (e.ci == null ? "" : " (" + e.level + " CI " + pointsRange(e.ci) + ")");
  const name =
    `${e.b} minus ${e.a}, pass rate by scenario: overall ${overall}; ` +
    `${plural(rows.length, "scenario")}; equivalent within ${within(e.margin)}`;
  const draw = (w) => {
    const left = LABEL(w);
    const x = scale(-1, 1, left + 10, w - 54);
    const top = 6;
    const bottom = top + (rows.length + 1) * ROW + 8;
    const y = (i) => top + i * ROW + ROW / 2 + (i === rows.length ? 8 : 0); // the overall a little apart
    const scenario = (s, i) =>
      svg(
        "g",
        null,
        rowLabel(left, y(i), s.scenario, left),
        svg("line", { class: "ci", x1: x(s.ci.low), x2: x(s.ci.high), y1: y(i), y2: y(i) }),
        svg(
          "circle",
          { class: "effect-mark", cx: x(s.diff), cy: y(i), r: 4.5, data: { testid: "effect-mark" } },
          tip(
            `${s.scenario}: ${points(s.diff)} (${confidence} CI ${pointsRange(s.ci)}); ` +
              `${e.b} passed ${s.b_passed} of ${s.pairs}, ${e.a} ${s.a_passed}`,
          ),
        ),
        value(w - 4, y(i), signedPoints(s.diff)),
      );
    const yo = y(rows.length);
    const d = e.diff == null ? null : x(e.diff);
    return chartSvg(
      w,
      bottom + 22,
      name,
      svg("rect", { class: "band", x: x(-e.margin), y: top, width: x(e.margin) - x(-e.margin), height: bottom - top }),
      axisX(x, [-1, -0.5, 0, 0.5, 1], (t) => (t ? signedPoints(t) : "0"), top, bottom),
      svg("line", { class: "zero", x1: x(0), x2: x(0), y1: top, y2: bottom }),
      svg("line", { class: "rule", x1: 0, x2: w, y1: yo - ROW / 2 - 4, y2: yo - ROW / 2 - 4 }),
      rows.map(scenario),
      label(left, yo + 4, "end", "overall", "row-label strong"),
      d == null
        ? null
        : [
            e.ci ? svg("line", { class: "ci overall", x1: x(e.ci.low), x2: x(e.ci.high), y1: yo, y2: yo }) : null,
            svg(
              "path",
              {
                class: "overall-mark",
                d: `M${d} ${yo - 7}L${d + 7} ${yo}L${d} ${yo + 7}L${d - 7} ${yo}Z`,
                data: { testid: "effect-overall" },
              },
              tip("overall: " + overall + ", " + e.verdict),
            ),
            value(w - 4, yo, signedPoints(e.diff), "strong"),
          ],
    );
  };
  return chartFigure(
    "chart-effect",
    `Pass rate, ${e.b} − ${e.a}`,
    `Points, by scenario with ${confidence} intervals; ◆ overall with the verdict's ${e.level} ` +
      `interval (${e.verdict}); shaded: within ${within(e.margin)}.`,
    draw,
    ["scenario", e.a + " passed", e.b + " passed", "difference", confidence + " interval"],
    [
      ...rows.map((s) => [
        s.scenario,
        s.a_passed + "/" + s.pairs,
        s.b_passed + "/" + s.pairs,
        points(s.diff),
        pointsRange(s.ci),
      ]),
      [h("th", { text: "overall" }), dash, dash, points(e.diff), e.ci ? e.level + " " + pointsRange(e.ci) : dash],
    ],
  );
}

// ---- 2. pass rate per lane -----------------------------------------------------------------

function laneRateChart(lanes, confidence) {
  const draw = (w) => {
    const left = LABEL(w);
    const x = scale(0, 1, left + 10, w - 92);
    const top = 6;
    const bottom = top + lanes.length * ROW;
    const y = (i) => top + i * ROW + ROW / 2;
    const bar = (l, i) => {
      const r = l.pass_rate;
      const [low, high] = r.ci ? [x(r.ci.low), x(r.ci.high)] : [];
      return svg(
        "g",
        { class: laneClass(i) },
        rowLabel(left, y(i), l.lane, left),
        svg(
          "rect",
          {
            class: "rate-bar",
            x: x(0),
            y: y(i) - 8,
            width: Math.max(1, x(r.rate || 0) - x(0)),
            height: 16,
            data: { testid: "rate-mark" },
          },
          tip(l.lane + ": " + rate(r) + ", " + confidence + " CI " + interval(r.ci, pct)),
        ),
        r.ci
          ? svg("path", { class: "whisker", d: `M${low} ${y(i) - 5}v10M${low} ${y(i)}H${high}M${high} ${y(i) - 5}v10` })
          : null,
        value(w - 4, y(i), rate(r)),
      );
    };
    return chartSvg(
      w,
      bottom + 22,
      "Pass rate by lane: " + lanes.map((l) => l.lane + " " + pct(l.pass_rate.rate)).join(", "),
      axisX(x, x(1) - x(0) < 240 ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1], pct, top, bottom),
      lanes.map(bar),
    );
  };
  return chartFigure(
    "chart-lanes",
    "Pass rate by lane",
    `With its ${confidence} interval over scenarios like these.`,
    draw,
    ["lane", "pass rate", confidence + " interval"],
    lanes.map((l) => [l.lane, rate(l.pass_rate), interval(l.pass_rate.ci, pct)]),
  );
}

// ---- 3. scenario × lane heat map -----------------------------------------------------------

function heatCell(cell, x0, y0, width, height) {
  const share = cell.passed / cell.runs;
  const name = `${cell.scenario} in ${cell.lane}: ${cell.passed} of ${plural(cell.runs, "run")} passed (${pct(share)})`;
  const open = () => openRuns(cell.scenario, cell.lane);
  const box = svg("rect", { x: x0 + 1, y: y0 + 1, width: width - 2, height: height - 2, rx: 3 });
  box.style.setProperty("--rate", String(share)); // the CSSOM, not a style attribute: the CSP allows it
  const keydown = (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open();
    }
  };
  return svg(
    "g",
    {
      class: "heat-cell",
      role: "button",
      tabindex: 0,
      "aria-label": name + "; open these runs",
      data: { testid: "heat-cell", scenario: cell.scenario, lane: cell.lane },
      on: { click: open, keydown: keydown },
    },
    tip(name + "; open these runs"),
    box,
    label(x0 + width / 2, y0 + height / 2 + 4, "middle", pct(share) + " (" + cell.passed + "/" + cell.runs + ")"),
  );
}

function heatMap(c) {
  const lanes = c.lanes.map((l) => l.lane);
  const at = new Map(c.cells.map((cell) => [cell.scenario + "\u0000" + cell.lane, cell]));
  const cellOf = (s, l) => at.get(s + "\u0000" + l);
  const draw = (w) => {
    const left = LABEL(w);
    const col = Math.min(160, Math.max(48, (w - left - 10) / Math.max(1, lanes.length)));
    const top = 22;
    const rowH = 30;
    const xOf = (j) => left + 10 + col * j;
    const row = (s, i) => {
      const y0 = top + i * rowH;
      return [
        rowLabel(left, y0 + rowH / 2, s, left),
        lanes.map((l, j) => {
          const cell = cellOf(s, l);
          if (cell) return heatCell(cell, xOf(j), y0, col, rowH);
          return label(xOf(j) + col / 2, y0 + rowH / 2 + 4, "middle", "not run", "tick");
        }),
      ];
    };
    // As wide as the plot, so text is at its size, unless the lanes need more (then scaled down).
    const picture = chartSvg(
      Math.max(w, xOf(lanes.length)),
      top + c.scenarios.length * rowH + 2,
      "Pass rate by scenario and lane; each cell opens its runs",
      lanes.map((l, j) => label(xOf(j) + col / 2, 14, "middle", shorten(l, col - 4), "col-label", l)),
      c.scenarios.map(row),
    );
    // A group, not an image: an image's children are hidden from assistive technology, and
    // these are buttons.
    picture.setAttribute("role", "group");
    return picture;
  };
  return chartFigure(
    "chart-heatmap",
    "Pass rate by scenario and lane",
    "Open a cell (click, or Enter) to see its runs.",
    draw,
    ["scenario", ...lanes],
    c.scenarios.map((s) => [
      s,
      ...lanes.map((l) => {
        const cell = cellOf(s, l);
        return cell ? pct(cell.passed / cell.runs) + " (" + cell.passed + "/" + cell.runs + ")" : dash;
      }),
    ]),
  );
}

// ---- 4. cost against pass rate -------------------------------------------------------------

// Three round ticks from 0 to at least ``top``: 0, a round step, twice it.
function moneyTicks(top) {
  const half = top / 2;
  const unit = Math.pow(10, Math.floor(Math.log10(half)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * unit).find((s) => s >= half);
  return [0, step, 2 * step];
}

const PLOT_HEIGHT = 230; // the x-y charts'

function costChart(lanes, unbilled) {
  const known = lanes.map((l, i) => [l, i]).filter(([l]) => l.cost_usd != null && l.pass_rate.rate != null);
  const draw = (w) => {
    if (!known.length) return h("p", { class: "muted", text: "No lane reported a cost." });
    const most = Math.max(...known.map(([l]) => l.cost_usd));
    const ticks = moneyTicks(most > 0 ? most * 1.1 : 0.01);
    const x = scale(0, ticks[2], 48, w - 32);
    const y = scale(0, 1, PLOT_HEIGHT - 30, 10);
    // Labels beside their points, nudged apart where two would overlap.
    const placed = known.map(([l, i]) => ({ l, i, px: x(l.cost_usd), py: y(l.pass_rate.rate) }));
    placed.forEach((p) => (p.ly = p.py + 4));
    placed.sort((a, b) => a.ly - b.ly);
    for (let k = 1; k < placed.length; k++) placed[k].ly = Math.max(placed[k].ly, placed[k - 1].ly + 14);
    const point = (p) => {
      const leftward = p.px > w * 0.6;
      return svg(
        "g",
        { class: laneClass(p.i) },
        svg(
          "circle",
          { class: "cost-mark", cx: p.px, cy: p.py, r: 6, data: { testid: "cost-mark" } },
          tip(`${p.l.lane}: ${money(p.l.cost_usd)} per run, ${rate(p.l.pass_rate)}`),
        ),
        label(p.px + (leftward ? -10 : 10), p.ly, leftward ? "end" : "start", p.l.lane, "point-label"),
      );
    };
    return chartSvg(
      w,
      PLOT_HEIGHT,
      "Mean cost per run against pass rate: " +
        known.map(([l]) => `${l.lane} ${money(l.cost_usd)}, ${pct(l.pass_rate.rate)}`).join("; "),
      axisY(y, [0, 0.5, 1], pct, 48, w - 32),
      axisX(x, ticks, (t) => "$" + Number(t.toPrecision(3)), 10, PLOT_HEIGHT - 30),
      placed.map(point),
    );
  };
  return chartFigure(
    "chart-cost",
    "Cost against pass rate",
    "Mean cost per run (x) and pass rate (y), one point per lane" + (unbilled ? " (" + unbilled + ")." : "."),
    draw,
    ["lane", "mean cost per run", "pass rate"],
    lanes.map((l) => [l.lane, money(l.cost_usd), rate(l.pass_rate)]),
  );
}

// ---- 5. pass@k and pass^k ------------------------------------------------------------------

const KINDS = { pass_at_k: ["at", "pass@k"], pass_hat_k: ["hat", "pass^k"] };

function passKChart(lanes, trials) {
  const drawn = lanes.map((l, i) => [l, i]).filter(([l]) => l.pass_k.length);
  const last = Math.max(...drawn.map(([l]) => l.pass_k.length));
  const draw = (w) => {
    const x = scale(1, last, 48, w - 16);
    const y = scale(0, 1, PLOT_HEIGHT - 30, 10);
    const every = Math.ceil(last / 8);
    const ks = Array.from({ length: last }, (_, k) => k + 1).filter((k) => k === 1 || k % every === 0);
    const curve = (l, key) => {
      const [kind, title] = KINDS[key];
      return [
        svg("path", {
          class: "curve " + kind,
          d: l.pass_k.map((p, n) => (n ? "L" : "M") + x(p.k) + " " + y(p[key])).join(""),
          data: { testid: "passk-curve" },
        }),
        l.pass_k.map((p) =>
          svg(
            "circle",
            { class: "curve-mark " + kind, cx: x(p.k), cy: y(p[key]), r: 3.5, data: { testid: "passk-mark" } },
            tip(`${l.lane}, k = ${p.k}: ${title} ${pct(p[key])}`),
          ),
        ),
      ];
    };
    return chartSvg(
      w,
      PLOT_HEIGHT,
      "pass@k and pass^k by lane, k from 1 to " + last,
      axisY(y, [0, 0.5, 1], pct, 48, w - 16),
      axisX(x, ks, String, 10, PLOT_HEIGHT - 30),
      drawn.map(([l, i]) => svg("g", { class: laneClass(i) }, curve(l, "pass_at_k"), curve(l, "pass_hat_k"))),
    );
  };
  const legend = h(
    "p",
    { class: "legend" },
    drawn.map(([l, i]) => h("span", { class: "key " + laneClass(i) }, h("span", { class: "swatch" }), l.lane)),
    h("span", { class: "muted", text: "solid: pass@k · dashed: pass^k · k: trials (x)" }),
  );
  return chartFigure(
    "chart-pass-k",
    "pass@k and pass^k",
    "Over scenarios: the chance that at least one of k trials passes (pass@k) and that all k pass " +
      `(pass^k), from ${plural(trials, "trial")} each.`,
    draw,
    ["lane", "k", "pass@k", "pass^k"],
    drawn.flatMap(([l]) => l.pass_k.map((p) => [l.lane, p.k, pct(p.pass_at_k), pct(p.pass_hat_k)])),
    legend,
  );
}

// ---- the overview --------------------------------------------------------------------------

let overviewCharts = []; // the result's charts, each drawn at its figure's width
let overviewWidth = null; // the width they were last drawn at; null: not drawn yet

function renderOverview(result) {
  const view = document.getElementById("view-overview");
  overviewCharts = [];
  overviewWidth = null;
  if (!result) return fill(view, h("p", { class: "missing", text: "No results in this report." }));
  const c = result.charts;
  overviewCharts = [
    ...c.effects.map((e) => effectChart(e, c.confidence)),
    laneRateChart(c.lanes, c.confidence),
    heatMap(c),
    costChart(c.lanes, c.unbilled),
    c.lanes.some((l) => l.pass_k.length) ? passKChart(c.lanes, c.trials) : null,
  ].filter(Boolean);
  fill(
    view,
    c.effects.length ? null : h("p", { class: "muted", text: "One lane: its charts only; an A/B effect needs two." }),
    h("div", { class: "charts", data: { testid: "charts" } }, overviewCharts.map((chart) => chart.figure)),
  );
  drawCharts();
}

// Each plot at the width its figure has, so a 12px label reads 12px on any screen; a hidden
// overview (no width) waits until it is shown, and a resize redraws.
function drawCharts() {
  const view = document.getElementById("view-overview");
  const width = document.querySelector("main").clientWidth;
  if (view.hidden || width === overviewWidth) return;
  overviewWidth = width;
  // Every width read before any plot is drawn: a read after a draw would lay the page out again.
  const widths = overviewCharts.map((chart) => Math.max(280, Math.floor(chart.plot.clientWidth)));
  overviewCharts.forEach((chart, i) => fill(chart.plot, chart.draw(widths[i])));
}
