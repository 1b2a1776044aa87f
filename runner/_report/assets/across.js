/* Side by side across a comparison: a run of the before result as A, the same scenario, lane
   and trial of the after result as B. runner/_report/across.py pairs, when the page is built,
   only the runs that changed (one pair per run) and writes their index per comparison
   ("across-K"); the Compare view's rows open them, and the Side by side tab draws them with
   the parts of sidebyside.js. */

const acrossCache = new Map();

// A comparison's pairs (across.AcrossExtras), parsed the first time they are needed.
function acrossOf(comparison) {
  if (!acrossCache.has(comparison)) {
    const none = { pairs: [], skills_a: {}, skills_b: {} };
    acrossCache.set(comparison, readJson("across-" + comparison) || none);
  }
  return acrossCache.get(comparison);
}

function showAcross(comparison, at) {
  state.side = { compare: comparison, at: at };
  showView("side");
  document.getElementById("view-side").scrollIntoView();
}

// The Compare table's cell for a run: its button when the run has a pair, else nothing.
function acrossButton(comparison, runId) {
  const at = acrossOf(comparison).pairs.findIndex((p) => p.run_id === runId);
  if (at < 0) return null;
  return h("button", {
    type: "button",
    class: "compare-side",
    data: { testid: "compare-side", run: runId },
    text: "side by side ⇆",
    on: { click: () => showAcross(comparison, at) },
  });
}

function renderAcross(view) {
  const k = state.side.compare;
  const c = data.comparisons[k];
  const across = acrossOf(k);
  const at = state.side.at;
  const p = across.pairs[at];
  const counts = c.comparison.counts;
  const matched = counts.improved + counts.regressed + counts.unchanged;
  const label = (from, row) => from + " · " + runLabel(row);
  const options = across.pairs.map((q, i) => ({ value: i, text: label(c.before, q.a) }));
  const [da, db] = [readJson(p.a.detail), readJson(p.b.detail)];
  const shown = data.results[state.result];
  fill(
    view,
    h(
      "div",
      { class: "side-pickers" },
      picker("side-a", "A", options, at, (i) => {
        state.side = { compare: k, at: i };
        renderSide();
      }),
      picker("side-b", "B", [{ value: at, text: label(c.after, p.b) }], at, () => {}),
      h("span", {
        class: "muted",
        data: { testid: "side-across-note" },
        text:
          "Runs that changed from " + c.before + " to " + c.after + " (outcome, checks, tool calls or files): " +
          across.pairs.length + " of the " + plural(matched, "run") + " in both.",
      }),
      shown
        ? h("button", {
            type: "button",
            data: { testid: "side-within" },
            text: "Runs within " + shown.name,
            on: {
              click: () => {
                state.side = null;
                renderSide();
              },
            },
          })
        : null,
    ),
    sideBody(
      readJson(p.pair),
      da,
      db,
      sideColumn(p.a, "A", da, c.before, across.skills_a),
      sideColumn(p.b, "B", db, c.after, across.skills_b),
    ),
  );
}
