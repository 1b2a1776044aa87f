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

function toolCall(it) {
  const box = h(
    "div",
    { class: "ev tool-call", data: { tool: it.name } },
    h(
      "details",
      { class: "tool-input" },
      h(
        "summary",
        null,
        "→ ",
        h("span", { class: "tool-name", text: it.name }),
        " ",
        h("span", { class: "hint", text: it.hint }),
      ),
      h("pre", null, clip(it.input)),
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
      return h("div", { class: "ev text" }, clip(it.text));
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
        it.text ? h("div", { class: "result-text" }, clip(it.text)) : null,
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

function runDetail(d, row) {
  if (d == null) return h("p", { class: "missing", text: "This run's transcript is not in the page." });
  const failed = d.checks.filter((c) => !c.passed);
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
    d.checks.length
      ? h(
          "div",
          { class: "checks" },
          h("div", {
            class: "muted",
            text: d.checks.length - failed.length + " of " + d.checks.length + " checks passed",
          }),
          h(
            "ul",
            null,
            failed.map((c) =>
              h("li", { class: "check-failed" }, "✗ ", h("strong", { text: c.name }), ": " + c.detail),
            ),
          ),
        )
      : null,
    timeline(d.timeline),
  );
}
