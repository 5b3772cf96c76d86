// How the chat page draws an answer: its reasoning block, its text (as
// Markdown, or plain for a completion after the prompt it continues), its
// statistics and copy buttons.
(function (global) {
  "use strict";

  const md = global.qilinMarkdown;

  // fillAssistant (re)draws an answer: reasoning block, text, statistics.
  function fillAssistant(el, m, conv, index, streaming) {
    el.replaceChildren();
    el.classList.toggle("error", !!m.error);
    if (m.reasoning) {
      const d = document.createElement("details");
      d.className = "reasoning";
      d.dataset.role = "reasoning";
      const s = document.createElement("summary");
      s.textContent = streaming && !m.content ? "Thinking…" : "Reasoning (" + words(m.reasoning) + " words)";
      const t = document.createElement("div");
      t.className = "reasoning-text";
      if (streaming && !m.content) t.classList.add("caret");
      t.textContent = m.reasoning;
      d.append(s, t);
      // Open while it is all there is, folded once the answer begins,
      // unless the reader opened or closed it (kept with the message).
      d.open = m.showReasoning !== undefined ? m.showReasoning : !m.content;
      s.addEventListener("click", function () { m.showReasoning = !d.open; });
      el.appendChild(d);
    }
    const content = document.createElement("div");
    content.className = "content";
    if (m.error) {
      content.setAttribute("role", "alert");
      content.textContent = m.error;
    } else if (conv.mode === "completion") {
      const prompt = document.createElement("span");
      prompt.className = "prompt-echo";
      prompt.textContent = conv.messages[index - 1] ? conv.messages[index - 1].content : "";
      const text = document.createElement("span");
      text.textContent = m.content;
      content.classList.add("completion");
      content.append(prompt, text);
    } else {
      content.appendChild(md.render(m.content, copy));
    }
    if (streaming && (m.content || !m.reasoning)) content.classList.add("caret");
    if (m.content || m.error || !m.reasoning || conv.mode === "completion") el.appendChild(content);
    if (!streaming && !m.error) {
      const meta = document.createElement("div");
      meta.className = "meta";
      const stats = document.createElement("span");
      stats.className = "stats";
      stats.textContent = statsText(m.stats);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "copy";
      b.textContent = "Copy";
      b.setAttribute("aria-label", "Copy answer");
      b.addEventListener("click", function () { copy(m.content, b); });
      meta.append(stats, b);
      el.appendChild(meta);
    }
  }

  function words(s) {
    return s.trim() ? s.trim().split(/\s+/).length : 0;
  }

  function statsText(st) {
    if (!st) return "";
    const parts = [];
    if (st.prompt_tokens !== undefined) parts.push(st.prompt_tokens + " prompt tokens");
    parts.push((st.estimated ? "~" : "") + st.completion_tokens + " tokens");
    if (st.tps) parts.push((st.tps_estimated ? "~" : "") + st.tps.toFixed(1) + " tok/s");
    if (st.seconds !== undefined) parts.push(st.seconds.toFixed(2) + " s");
    if (st.stopped) parts.push("stopped");
    else if (st.finish_reason === "length") parts.push("hit the token limit");
    return parts.join(" · ");
  }

  // copy puts text on the clipboard and says so on the button.
  function copy(text, button) {
    const done = function () {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text) && done(); });
    } else if (fallbackCopy(text)) {
      done();
    }
  }
  function fallbackCopy(text) {
    const t = document.createElement("textarea");
    t.value = text;
    t.setAttribute("readonly", "");
    t.style.position = "fixed";
    t.style.opacity = "0";
    document.body.appendChild(t);
    t.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    t.remove();
    return ok;
  }

  global.qilinView = { fillAssistant: fillAssistant, copy: copy };
})(window);
