// A small Markdown renderer for model output that cannot inject HTML: the
// text is parsed into a tree of blocks and inline spans, and the tree is
// built with createElement and text nodes only (never innerHTML), so "<",
// "&" and "javascript:" in the text stay text. Links keep only http(s)
// and mailto targets.
//
// Blocks: fenced code (``` or ~~~, an unclosed fence runs to the end, as
// while an answer streams), ATX headings, block quotes, lists (- * + and
// 1. 1)), rules, paragraphs (single newlines kept as line breaks).
// Inline: `code`, **strong**, *em* / _em_, ~~del~~, [text](url), <url>
// and bare http(s) URLs.
(function (global) {
  "use strict";

  const fenceRe = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
  const headingRe = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const ruleRe = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
  const quoteRe = /^ {0,3}>\s?/;
  const itemRe = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;

  // parse returns the blocks of text.
  function parse(text) {
    const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    const blocks = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if (line.trim() === "") {
        i++;
      } else if ((m = fenceRe.exec(line))) {
        const fence = m[1];
        const body = [];
        i++;
        while (i < lines.length && !isClosingFence(lines[i], fence)) {
          body.push(lines[i]);
          i++;
        }
        const closed = i < lines.length;
        i++; // the closing fence
        blocks.push({ type: "code", lang: m[2], text: body.join("\n"), closed: closed });
      } else if ((m = headingRe.exec(line))) {
        blocks.push({ type: "heading", level: m[1].length, inlines: parseInline(m[2]) });
        i++;
      } else if (ruleRe.test(line)) {
        blocks.push({ type: "rule" });
        i++;
      } else if (quoteRe.test(line)) {
        const body = [];
        while (i < lines.length && quoteRe.test(lines[i])) {
          body.push(lines[i].replace(quoteRe, ""));
          i++;
        }
        blocks.push({ type: "quote", blocks: parse(body.join("\n")) });
      } else if ((m = itemRe.exec(line))) {
        const ordered = /\d/.test(m[2]);
        const list = { type: "list", ordered: ordered, start: ordered ? parseInt(m[2], 10) : 1, items: [] };
        while (i < lines.length) {
          const im = itemRe.exec(lines[i]);
          if (im && /\d/.test(im[2]) === ordered) {
            list.items.push([im[3]]);
            i++;
          } else if (list.items.length && /^\s{2,}\S/.test(lines[i])) {
            list.items[list.items.length - 1].push(lines[i].trim());
            i++;
          } else {
            break;
          }
        }
        list.items = list.items.map(function (parts) { return parseInline(parts.join("\n")); });
        blocks.push(list);
      } else {
        const para = [];
        while (i < lines.length && lines[i].trim() !== "" && !startsBlock(lines[i])) {
          para.push(lines[i]);
          i++;
        }
        blocks.push({ type: "paragraph", inlines: parseInline(para.join("\n")) });
      }
    }
    return blocks;
  }

  function isClosingFence(line, fence) {
    const t = line.trim();
    return t.length >= fence.length && t[0] === fence[0] && t === fence[0].repeat(t.length);
  }

  function startsBlock(line) {
    return fenceRe.test(line) || headingRe.test(line) || ruleRe.test(line) || quoteRe.test(line) || itemRe.test(line);
  }

  // Inline patterns, tried at each position in this order.
  const inlineRules = [
    { re: /^(`+)([\s\S]*?[^`])\1(?!`)/, make: function (m) { return { type: "code", text: m[2].replace(/^ ([\s\S]*) $/, "$1") }; } },
    { re: /^\*\*(?=\S)([\s\S]*?\S)\*\*/, make: function (m) { return { type: "strong", children: parseInline(m[1]) }; } },
    { re: /^__(?=\S)([\s\S]*?\S)__(?!\w)/, make: function (m) { return { type: "strong", children: parseInline(m[1]) }; } },
    { re: /^~~(?=\S)([\s\S]*?\S)~~/, make: function (m) { return { type: "del", children: parseInline(m[1]) }; } },
    { re: /^\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)/, make: function (m) { return { type: "em", children: parseInline(m[1]) }; } },
    { re: /^_(?=[^\s_])([\s\S]*?[^\s_])_(?!\w)/, make: function (m) { return { type: "em", children: parseInline(m[1]) }; } },
    { re: /^\[([^\]\n]+)\]\(\s*<?([^\s()<>]+)>?(?:\s+"[^"]*")?\s*\)/, make: function (m) { return link(m[2], parseInline(m[1]), m[0]); } },
    { re: /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i, make: function (m) { return link(m[1], [{ type: "text", text: m[1] }], m[0]); } },
    { re: /^https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"]/i, make: function (m) { return link(m[0], [{ type: "text", text: m[0] }], m[0]); } },
    { re: /^\n/, make: function () { return { type: "break" }; } },
  ];

  // parseInline returns the spans of text.
  function parseInline(text) {
    const out = [];
    let plain = "";
    let s = String(text);
    let prev = ""; // the character before s, for intraword rules
    while (s.length) {
      let matched = null;
      const c = s[0];
      if ("`*_~[<h\n".indexOf(c) >= 0 && !(c === "_" && /\w/.test(prev)) && !(c === "h" && /\w/.test(prev))) {
        for (const rule of inlineRules) {
          const m = rule.re.exec(s);
          if (m) {
            matched = { node: rule.make(m), len: m[0].length };
            break;
          }
        }
      }
      if (matched) {
        if (plain) out.push({ type: "text", text: plain });
        plain = "";
        out.push(matched.node);
        prev = s[matched.len - 1];
        s = s.slice(matched.len);
      } else if (c === "\\" && s.length > 1 && /[\\`*_{}\[\]()#+\-.!~<>|]/.test(s[1])) {
        plain += s[1];
        prev = s[1];
        s = s.slice(2);
      } else {
        plain += c;
        prev = c;
        s = s.slice(1);
      }
    }
    if (plain) out.push({ type: "text", text: plain });
    return out;
  }

  // safeURL returns url when it is http(s) or mailto, else "".
  function safeURL(url) {
    const u = String(url).trim();
    return /^(https?:\/\/|mailto:)/i.test(u) ? u : "";
  }

  function link(url, children, source) {
    const href = safeURL(url);
    return href ? { type: "link", href: href, children: children } : { type: "text", text: source };
  }

  // toDOM builds the nodes of blocks into a fragment of doc. onCopy(text,
  // button) is called by the copy buttons of code blocks.
  function toDOM(blocks, doc, onCopy) {
    const frag = doc.createDocumentFragment();
    for (const b of blocks) frag.appendChild(blockNode(b, doc, onCopy));
    return frag;
  }

  function el(doc, tag, cls) {
    const e = doc.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  function blockNode(b, doc, onCopy) {
    switch (b.type) {
      case "code": {
        const box = el(doc, "div", "codeblock");
        const head = el(doc, "div", "code-head");
        const lang = el(doc, "span", "code-lang");
        lang.textContent = b.lang || "code";
        const copy = el(doc, "button", "copy");
        copy.type = "button";
        copy.textContent = "Copy code";
        copy.addEventListener("click", function () { if (onCopy) onCopy(b.text, copy); });
        head.append(lang, copy);
        const pre = el(doc, "pre");
        const code = el(doc, "code");
        if (/^[\w+#.-]+$/.test(b.lang)) code.className = "language-" + b.lang;
        code.textContent = b.text;
        pre.appendChild(code);
        box.append(head, pre);
        return box;
      }
      case "heading": {
        const h = el(doc, "h" + Math.min(6, Math.max(1, b.level)));
        appendInlines(h, b.inlines, doc);
        return h;
      }
      case "rule":
        return el(doc, "hr");
      case "quote": {
        const q = el(doc, "blockquote");
        q.appendChild(toDOM(b.blocks, doc, onCopy));
        return q;
      }
      case "list": {
        const l = el(doc, b.ordered ? "ol" : "ul");
        if (b.ordered && b.start !== 1) l.start = b.start;
        for (const item of b.items) {
          const li = el(doc, "li");
          appendInlines(li, item, doc);
          l.appendChild(li);
        }
        return l;
      }
      default: {
        const p = el(doc, "p");
        appendInlines(p, b.inlines, doc);
        return p;
      }
    }
  }

  function appendInlines(parent, inlines, doc) {
    for (const n of inlines) {
      switch (n.type) {
        case "text":
          parent.appendChild(doc.createTextNode(n.text));
          break;
        case "break":
          parent.appendChild(el(doc, "br"));
          break;
        case "code": {
          const c = el(doc, "code");
          c.textContent = n.text;
          parent.appendChild(c);
          break;
        }
        case "link": {
          const a = el(doc, "a");
          a.href = n.href;
          a.rel = "noopener noreferrer";
          a.target = "_blank";
          appendInlines(a, n.children, doc);
          parent.appendChild(a);
          break;
        }
        default: { // strong, em, del
          const e = el(doc, n.type);
          appendInlines(e, n.children, doc);
          parent.appendChild(e);
        }
      }
    }
  }

  // render returns a fragment showing text as Markdown.
  function render(text, onCopy) {
    return toDOM(parse(text), global.document, onCopy);
  }

  global.qilinMarkdown = { parse: parse, parseInline: parseInline, toDOM: toDOM, render: render, safeURL: safeURL };
})(typeof window !== "undefined" ? window : globalThis);
