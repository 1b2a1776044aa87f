/* A run's transcript as the page draws it when its row opens. */

// ---- clipped text ------------------------------------------------------------------------

function clip(c) {
  if (c == null) return null;
  if (!c.cut) return c.text;
  const note = h("span", { class: "clipped", text: "… " + count(c.cut) + " characters cut" });
  return c.kept === "tail" ? [note, "\n", c.text] : [c.text, "\n", note];
}

function firstLine(text) {
  const line = (text || "").trim().split("\n", 1)[0];
  return line.length > 100 ? line.slice(0, 99) + "…" : line;
}

// ---- a run's transcript ------------------------------------------------------------------

function toolOutput(out) {
  return h(
    "details",
    { class: "tool-result" + (out.is_error ? " is-error" : "") },
    h(
      "summary",
      null,
      out.is_error ? "← error " : "← result ",
      h("span", { class: "hint", text: firstLine(out.text.text) }),
    ),
    h("pre", null, clip(out.text)),
  );
}

// A unified diff's lines, each coloured by its first character (runner/_report/diffs.py).
const DIFF_CLASS = { "+": "add", "-": "del", "@": "hunk" };

function diffView(lines, cut) {
  return h(
    "pre",
    { class: "diff", data: { testid: "diff" } },
    lines.map((line) => h("span", { class: "dl " + (DIFF_CLASS[line[0]] || "ctx"), text: line + "\n" })),
    cut ? h("span", { class: "clipped", text: "… " + plural(cut, "more line") }) : null,
  );
}

// What a call did, as a person reads it: an Edit as its diff, a Write as the file, else JSON.
function toolInput(it) {
  if (it.edits) {
    return h(
      "div",
      { class: "file-edit", data: { testid: "edit" } },
      h("code", { class: "path", text: it.path }),
      it.edits.map((e, i) => [
        it.edits.length > 1 || e.replace_all
          ? h("div", { class: "muted", text: "edit " + (i + 1) + (e.replace_all ? ", every occurrence" : "") })
          : null,
        diffView(e.lines, e.cut),
      ]),
    );
  }
  if (it.written) {
    return h(
      "div",
      { class: "file-write", data: { testid: "write" } },
      h("code", { class: "path", text: it.path }),
      h("pre", { class: "written" }, clip(it.written)),
    );
  }
  return h("pre", null, clip(it.input));
}

function toolCall(it) {
  const box = h(
    "div",
    { class: "ev tool-call", data: { tool: it.name } },
    h(
      "details",
      { class: "tool-input", open: Boolean(it.edits || it.written) },
      h(
        "summary",
        null,
        "→ ",
        h("span", { class: "tool-name", text: it.name }),
        " ",
        h("span", { class: "hint", text: it.hint }),
      ),
      toolInput(it),
    ),
  );
  if (it.children && it.children.length) {
    box.append(
      h(
        "div",
        { class: "subagent", data: { testid: "subagent" } },
        h("div", { class: "subagent-label", text: "inside " + it.name }),
        it.children.map(item),
      ),
    );
  }
  box.append(
    it.result
      ? toolOutput(it.result)
      : h("div", { class: "tool-result pending", text: "← no result in the transcript" }),
  );
  return box;
}

function item(it) {
  switch (it.kind) {
    case "text":
      return h(
        "div",
        { class: "ev text" + (it.final ? " final" : ""), data: it.final ? { testid: "final-text" } : null },
        it.final ? h("div", { class: "final-label", text: "final answer" }) : null,
        markdownClip(it.text),
      );
    case "thinking":
      return h(
        "details",
        { class: "ev thinking" },
        h("summary", { text: "thinking" }),
        h("pre", null, clip(it.text)),
      );
    case "tool_call":
      return toolCall(it);
    case "tool_result":
      return h(
        "div",
        { class: "ev orphan" },
        "a result for ",
        h("code", { text: it.tool_use_id }),
        ", a call not in the transcript",
        toolOutput(it.output),
      );
    case "retry":
      return h(
        "div",
        { class: "ev retry" },
        "↻ API retry " + it.attempt,
        it.error_status != null ? " (HTTP " + it.error_status + ")" : null,
        it.error ? ": " + it.error : null,
        it.retry_delay_ms != null ? ", next in " + secs(it.retry_delay_ms) : null,
      );
    case "task":
      return h(
        "div",
        { class: "ev task" },
        "◇ task " + it.phase,
        it.status ? " (" + it.status + ")" : null,
        it.description ? ": " + it.description : null,
        it.task_id ? h("span", { class: "muted", text: " " + it.task_id }) : null,
      );
    case "notice":
      return h(
        "div",
        { class: "ev notice", role: "note" },
        "⚠ " + it.what,
        it.line != null ? " (line " + it.line + ")" : null,
      );
    case "result":
      return h(
        "div",
        { class: "ev result" + (it.is_error ? " is-error" : ""), data: { testid: "final-result" } },
        h(
          "div",
          { class: "result-head" },
          "■ result: " + it.status,
          it.num_turns != null ? " · " + it.num_turns + " turns" : null,
          it.cost_usd != null ? " · " + money(it.cost_usd) : null,
        ),
        it.text ? h("div", { class: "result-text" }, markdownClip(it.text)) : null,
      );
    default:
      return h(
        "div",
        { class: "ev notice", role: "note" },
        "⚠ an item of kind " + it.kind + " this page does not draw",
      );
  }
}

function timeline(t) {
  if (t.source === "stream") return h("div", { class: "timeline" }, t.items.map(item));
  if (t.source === "agent_log") {
    return h(
      "div",
      { class: "agent-log" },
      h("p", { class: "muted", text: "No transcript; the CLI's agent log (the end of its stderr):" }),
      h("pre", { data: { testid: "agent-log" } }, clip(t.agent_log)),
    );
  }
  return h("p", { class: "muted missing", text: "No transcript and no agent log: " + t.note });
}

// The instruction, the nudge and the skill's SKILL.md the run was given (views.Received); a
// skill's text sits once in its result's extras, named by ref.
function receivedView(got, skills) {
  if (!got) return null;
  const skill = got.skill ? skills[got.skill] : null;
  return h(
    "div",
    { class: "received", data: { testid: "received" } },
    got.instruction
      ? h(
          "div",
          { class: "instruction", data: { testid: "instruction" } },
          h("div", { class: "label", text: "instruction" }),
          markdownClip(got.instruction),
        )
      : null,
    got.nudge
      ? h(
          "div",
          { class: "nudge", data: { testid: "nudge" } },
          h("div", { class: "label", text: "nudge (system prompt)" }),
          h("pre", null, clip(got.nudge)),
        )
      : null,
    skill
      ? h(
          "details",
          { class: "skill-text", data: { testid: "skill-text" } },
          h(
            "summary",
            null,
            "skill ",
            h("code", { text: skill.name }),
            h("span", { class: "muted", text: " · " + skill.source }),
          ),
          markdownClip(skill.text),
        )
      : null,
    got.notes ? got.notes.map((n) => h("div", { class: "muted", text: n })) : null,
  );
}

function checksView(checks) {
  const failed = checks.filter((c) => !c.passed);
  return h(
    "div",
    { class: "checks", data: { testid: "checks" } },
    h("div", { class: "muted", text: checks.length - failed.length + " of " + checks.length + " checks passed" }),
    h(
      "ul",
      null,
      checks.map((c) =>
        h(
          "li",
          { class: c.passed ? "check-passed" : "check-failed" },
          c.passed ? "✓ " : "✗ ",
          h("strong", { text: c.name }),
          ": " + c.detail,
        ),
      ),
    ),
  );
}

// ctx: where the run sits ({result, index}), for its skill text and the side-by-side link;
// null in the side-by-side columns themselves. skills: the SKILL.md texts its refs name, when
// the run is not of the result shown (a comparison's).
function runDetail(d, row, ctx, skills) {
  if (d == null) return h("p", { class: "missing", text: "This run's transcript is not in the page." });
  const result = ctx ? ctx.result : state.result;
  const partner = ctx ? partnerOf(ctx.result, ctx.index) : null;
  return h(
    "div",
    { class: "run-detail" },
    h(
      "div",
      { class: "detail-head" },
      h("strong", { text: d.run_id }),
      " · exit ",
      h("code", { text: d.exit_reason }),
      d.run_dir ? [" · ", h("code", { class: "path", text: d.run_dir })] : null,
      partner
        ? h("button", {
            type: "button",
            class: "compare-lane",
            data: { testid: "compare-lane" },
            text: "Compare with " + partner.label + " ⇆",
            on: { click: () => showSide(partner.a, partner.b) },
          })
        : null,
    ),
    d.error ? h("div", { class: "run-error" }, "error: ", clip(d.error)) : null,
    row.skill_errors.length
      ? h(
          "div",
          { class: "skill-failed", data: { testid: "skill-failed" } },
          h("span", { class: "badge bad", text: "skill call failed" }),
          " " + row.skill_errors.join(", ") + ": the Skill call's result was an error (the call is below)",
        )
      : null,
    receivedView(d.received, skills || extrasOf(result).skills),
    d.checks.length ? checksView(d.checks) : null,
    timeline(d.timeline),
  );
}
