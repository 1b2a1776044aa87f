/* Assistant text as a small subset of Markdown: paragraphs, headings, lists, quotes, fenced
   and inline code, emphasis, links. Built with createElement and text nodes only (h()), never
   markup from the text: a link is its words and its address as text, never an anchor, so no
   address (javascript: or any other) can be followed or run. */

// Inline spans, first match wins: code, strong, emphasis (an underscore only at a word's
// edge, so snake_case stays text), a link.
const INLINE = new RegExp(
  [
    "(`+)([\\s\\S]*?[^`])\\1(?!`)", // 1, 2: `code`
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 3: **strong**
    "\\*(?=[^\\s*])([^*]*?[^\\s*])?\\*", // 4: *emphasis*
    "(?<![\\p{L}\\p{N}_])_(?=\\S)([^_]*?\\S)_(?![\\p{L}\\p{N}_])", // 5: _emphasis_
    "\\[([^\\]\\n]+)\\]\\(([^()\\s]*)\\)", // 6, 7: [words](address)
  ].join("|"),
  "gu",
);

function inline(text) {
  const out = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    if (m[1]) out.push(h("code", { text: m[2] }));
    else if (m[3] != null) out.push(h("strong", null, inline(m[3])));
    else if (m[6] != null) {
      out.push(h("span", { class: "md-link" }, inline(m[6])));
      if (m[7]) out.push(h("span", { class: "md-url", text: " (" + m[7] + ")" }));
    } else out.push(h("em", null, inline(m[4] != null ? m[4] : m[5] || "")));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

// A paragraph's lines joined as Markdown joins them: a newline is a space (an instruction
// or a SKILL.md is wrapped by hand).
function lines(texts) {
  return texts.map((t, i) => [i ? "\n" : null, inline(t)]);
}

const FENCE = /^\s*(```+|~~~+)(.*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const ITEM = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

function markdown(text) {
  const box = h("div", { class: "md" });
  const src = text.replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  const flush = () => {
    if (para.length) box.append(h("p", null, lines(para)));
    para = [];
  };
  let start = 0;
  // A SKILL.md's front matter (--- ... --- at the very top) as what it is: YAML, not prose.
  const close = src[0] === "---" ? src.indexOf("---", 1) : -1;
  if (close > 0) {
    box.append(h("pre", { class: "md-front" }, h("code", { text: src.slice(0, close + 1).join("\n") })));
    start = close + 1;
  }
  for (let i = start; i < src.length; i++) {
    const line = src[i];
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      box.append(h("hr"));
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const code = [];
      for (i++; i < src.length && !src[i].trim().startsWith(fence[1]); i++) code.push(src[i]);
      const lang = fence[2].trim();
      const props = { class: "md-code", data: lang ? { lang: lang } : null };
      box.append(h("pre", props, h("code", { text: code.join("\n") })));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      // # is the transcript's own h4: the page's headings stay above any run's.
      box.append(h("h" + Math.min(6, heading[1].length + 3), { class: "md-h" }, inline(heading[2])));
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const list = h(ordered ? "ol" : "ul");
      for (; i < src.length; i++) {
        const next = ITEM.exec(src[i]);
        if (next && /\d/.test(next[1]) === ordered) list.append(h("li", null, inline(next[2])));
        else if (next || !src[i].trim() || !/^\s/.test(src[i])) break;
        else list.lastChild.append(" ", ...inline(src[i].trim())); // a wrapped item
      }
      i--;
      box.append(list);
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote) {
      flush();
      const quoted = [];
      for (; i < src.length && QUOTE.test(src[i]); i++) quoted.push(QUOTE.exec(src[i])[1]);
      i--;
      box.append(h("blockquote", null, lines(quoted)));
      continue;
    }
    if (line.trim()) para.push(line);
    else flush();
  }
  flush();
  return box;
}

// Clipped text (timeline.Clip) as Markdown, the count of what was cut after it.
function markdownClip(c) {
  if (c == null) return null;
  const note = c.cut ? h("span", { class: "clipped", text: "… " + count(c.cut) + " characters cut" }) : null;
  return c.kept === "tail" ? [note, markdown(c.text)] : [markdown(c.text), note];
}
