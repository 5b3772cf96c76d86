// qilin chat page: talks to this server's own API (/props, /v1/models,
// /v1/chat/completions, /v1/completions), streams answers, and keeps the
// conversations in the browser's local storage. A model without a chat
// template gets plain completion of the text instead of a ChatML guess.
(function () {
  "use strict";

  const $ = function (id) { return document.getElementById(id); };
  const API = window.qilinAPI;
  const View = window.qilinView;

  // Storage keys and sampling defaults (the server's own defaults).
  const KEY_CONVERSATIONS = "qilin.conversations";
  const KEY_CURRENT = "qilin.current";
  const KEY_SETTINGS = "qilin.settings";
  const KEY_API = "qilin.apiKey";
  const SAMPLING = { temperature: 0.8, top_p: 0.95, top_k: 40, max_tokens: 1024 };

  function load(key, def) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? def : JSON.parse(v);
    } catch (e) {
      return def;
    }
  }
  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      notice("Could not save in the browser's storage: " + e.message, true);
    }
  }

  const state = {
    settings: Object.assign({ model: "", system: "", thinking: "default" }, SAMPLING, load(KEY_SETTINGS, {})),
    apiKey: load(KEY_API, ""),
    conversations: load(KEY_CONVERSATIONS, []),
    current: load(KEY_CURRENT, null),
    props: null,
    running: null, // {controller, conv, msg}
  };
  if (!Array.isArray(state.conversations)) state.conversations = [];

  function conversation(id) {
    return state.conversations.find(function (c) { return c.id === id; }) || null;
  }
  function saveConversations() {
    save(KEY_CONVERSATIONS, state.conversations);
    save(KEY_CURRENT, state.current);
  }

  // notice shows a line under the settings ("" hides it).
  function notice(text, isError) {
    const n = $("notice");
    n.textContent = text;
    n.hidden = !text;
    n.classList.toggle("error", !!isError);
  }

  function api(path, options) {
    return API.call(path, options, state.apiKey);
  }
  const errorText = API.errorText;

  function askForKey(message) {
    notice(message || "This server needs an API key: enter it in Settings.", true);
    showSettings(true);
    $("set-key").focus();
  }

  // loadServer asks the server what it serves.
  async function loadServer() {
    let resp;
    try {
      resp = await api("/props");
    } catch (e) {
      $("model-name").textContent = "server unreachable";
      notice("Cannot reach the server: " + e.message, true);
      return;
    }
    if (resp.status === 401) {
      $("model-name").textContent = "API key needed";
      askForKey();
      return;
    }
    if (!resp.ok) {
      notice("The server answered " + (await errorText(resp)), true);
      return;
    }
    state.props = await resp.json();
    notice("");
    const select = $("set-model");
    select.replaceChildren();
    let ids = [state.props.model];
    try {
      const r = await api("/v1/models");
      if (r.ok) ids = (await r.json()).data.map(function (m) { return m.id; });
    } catch (e) { /* keep the served name */ }
    for (const id of ids) {
      const o = document.createElement("option");
      o.value = o.textContent = id;
      select.appendChild(o);
    }
    if (ids.indexOf(state.settings.model) < 0) state.settings.model = ids[0] || "";
    select.value = state.settings.model;
    $("set-max-tokens").max = state.props.max_tokens;
    showMode();
    renderMessages();
  }

  function mode() {
    return state.props && !state.props.has_chat_template ? "completion" : "chat";
  }

  function showMode() {
    const p = state.props;
    $("model-name").textContent = p.model;
    $("mode").textContent = p.has_chat_template
      ? "chat" + (p.thinking ? " · reasons before it answers" : "")
      : "plain completion: this model has no chat template";
    document.body.classList.toggle("no-template", !p.has_chat_template);
    for (const e of document.querySelectorAll(".chat-only")) e.hidden = !p.has_chat_template;
    for (const e of document.querySelectorAll(".thinking-only")) e.hidden = !p.thinking_switch;
  }

  // Settings panel.
  const fields = [
    ["set-system", "system", String],
    ["set-temperature", "temperature", Number],
    ["set-top-p", "top_p", Number],
    ["set-top-k", "top_k", Number],
    ["set-max-tokens", "max_tokens", Number],
    ["set-thinking", "thinking", String],
    ["set-model", "model", String],
  ];
  function fillSettings() {
    for (const f of fields) $(f[0]).value = state.settings[f[1]];
    $("set-key").value = state.apiKey;
  }
  function showSettings(open) {
    $("settings").hidden = !open;
    $("settings-toggle").setAttribute("aria-expanded", String(open));
  }

  // Conversation list.
  function renderSidebar() {
    const list = $("conversations");
    list.replaceChildren();
    const sorted = state.conversations.slice().sort(function (a, b) { return (b.updated || 0) - (a.updated || 0); });
    for (const c of sorted) {
      const li = document.createElement("li");
      if (c.id === state.current) li.className = "current";
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = c.title || "New conversation";
      open.title = c.title || "";
      open.addEventListener("click", function () { openConversation(c.id); });
      const del = document.createElement("button");
      del.type = "button";
      del.className = "delete";
      del.textContent = "×";
      del.setAttribute("aria-label", "Delete conversation " + (c.title || ""));
      del.addEventListener("click", function () { deleteConversation(c.id); });
      li.append(open, del);
      list.appendChild(li);
    }
  }

  // showList opens or closes the conversation list (a drawer on phones).
  function showList(open) {
    document.body.classList.toggle("list-open", open);
    $("list-toggle").setAttribute("aria-expanded", String(open));
  }

  function openConversation(id) {
    if (state.running) return;
    showList(false);
    state.current = conversation(id) ? id : null;
    saveConversations();
    renderSidebar();
    renderMessages();
    $("message").focus();
  }

  function deleteConversation(id) {
    if (state.running && state.running.conv.id === id) state.running.controller.abort();
    state.conversations = state.conversations.filter(function (c) { return c.id !== id; });
    if (state.current === id) state.current = null;
    saveConversations();
    renderSidebar();
    renderMessages();
  }

  // Messages.
  const elements = new Map(); // assistant message -> its element

  function renderMessages() {
    const box = $("messages");
    box.replaceChildren();
    elements.clear();
    const conv = conversation(state.current);
    if (!conv || conv.messages.length === 0) {
      const p = document.createElement("p");
      p.className = "empty";
      if (!state.props) p.textContent = "";
      else if (mode() === "completion") p.textContent = state.props.model + " has no chat template: it continues the text you write. Try “Once upon a time”.";
      else p.textContent = "Ask " + state.props.model + " anything.";
      box.appendChild(p);
      return;
    }
    for (let i = 0; i < conv.messages.length; i++) {
      const m = conv.messages[i];
      if (m.role === "user") {
        // A completion's answer shows the text it continues.
        if (conv.mode === "completion") continue;
        const u = document.createElement("div");
        u.className = "message user";
        u.dataset.role = "user";
        u.textContent = m.content;
        box.appendChild(u);
      } else {
        const a = document.createElement("div");
        a.className = "message assistant";
        a.dataset.role = "assistant";
        elements.set(m, a);
        View.fillAssistant(a, m, conv, i, false);
        box.appendChild(a);
      }
    }
    box.scrollTop = box.scrollHeight;
  }

  // Sending and streaming.
  function setRunning(r) {
    state.running = r;
    $("stop").hidden = !r;
    $("send").disabled = !!r;
  }

  function requestBody(conv) {
    const s = state.settings;
    const body = {
      model: s.model || state.props.model,
      stream: true,
      stream_options: { include_usage: true },
      temperature: s.temperature,
      top_p: s.top_p,
      top_k: s.top_k,
      max_tokens: Math.min(s.max_tokens, state.props.max_tokens || s.max_tokens),
    };
    const msgs = conv.messages.slice(0, -1); // without the answer being written
    if (conv.mode === "completion") {
      body.prompt = msgs[msgs.length - 1].content;
      return { path: "/v1/completions", body: body };
    }
    const out = [];
    if (s.system.trim()) out.push({ role: "system", content: s.system });
    for (const m of msgs) {
      if (m.error) continue;
      out.push({ role: m.role, content: m.content });
    }
    // Drop the user turns whose answers failed, so roles alternate.
    body.messages = out.filter(function (m, i) { return !(m.role === "user" && out[i + 1] && out[i + 1].role === "user"); });
    if (state.props.thinking_switch && s.thinking !== "default") {
      body.chat_template_kwargs = { enable_thinking: s.thinking === "on" };
    }
    return { path: "/v1/chat/completions", body: body };
  }

  async function send(text) {
    if (state.running || !state.props) return;
    let conv = conversation(state.current);
    if (!conv) {
      conv = { id: String(Date.now()) + Math.random().toString(16).slice(2, 8), title: "", mode: mode(), messages: [], created: Date.now() };
      state.conversations.push(conv);
      state.current = conv.id;
    }
    if (conv.mode !== mode()) {
      notice("This conversation was a " + conv.mode + "; the server's model now does " + mode() + ": starting a new conversation.");
      state.current = null;
      return send(text);
    }
    if (!conv.title) conv.title = text.replace(/\s+/g, " ").slice(0, 60);
    conv.updated = Date.now();
    conv.messages.push({ role: "user", content: text });
    const msg = { role: "assistant", content: "", reasoning: "" };
    conv.messages.push(msg);
    saveConversations();
    renderSidebar();
    renderMessages();
    await stream(conv, msg);
  }

  async function stream(conv, msg) {
    const controller = new AbortController();
    setRunning({ controller: controller, conv: conv, msg: msg });
    const el = elements.get(msg);
    const index = conv.messages.indexOf(msg);
    const req = requestBody(conv);
    const t0 = performance.now();
    let tFirst = 0;
    let chunks = 0;
    let usage = null;
    let timings = null; // the server's own measure (llama.cpp's timings)
    let tLast = 0;
    let finish = null;
    let drawn = false;
    const draw = function () {
      if (drawn) return;
      drawn = true;
      requestAnimationFrame(function () {
        drawn = false;
        if (state.running && state.running.msg === msg && el.isConnected) {
          View.fillAssistant(el, msg, conv, index, true);
          const box = $("messages");
          box.scrollTop = box.scrollHeight;
        }
      });
    };
    View.fillAssistant(el, msg, conv, index, true);
    try {
      const resp = await api(req.path, { method: "POST", body: JSON.stringify(req.body), signal: controller.signal });
      if (resp.status === 401) {
        msg.error = "This server needs an API key: enter it in Settings.";
        askForKey(msg.error);
      } else if (!resp.ok) {
        msg.error = await errorText(resp);
      } else {
        for await (const obj of API.events(resp)) {
          if (obj.usage) usage = obj.usage;
          if (obj.timings) timings = obj.timings;
          const ch = obj.choices && obj.choices[0];
          if (!ch) continue;
          const d = ch.delta || {};
          const piece = conv.mode === "completion" ? ch.text || "" : d.content || "";
          const thought = d.reasoning_content || "";
          if (piece || thought) {
            tLast = performance.now();
            if (!tFirst) tFirst = tLast;
            chunks++;
            msg.content += piece;
            msg.reasoning += thought;
            draw();
          }
          if (ch.finish_reason) finish = ch.finish_reason;
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") msg.error = "The answer broke off: " + e.message;
    }
    const tEnd = performance.now();
    const stopped = controller.signal.aborted;
    const n = usage ? usage.completion_tokens : chunks;
    // Without the server's figures (a stopped answer) the page estimates:
    // one streamed piece a token, timed as they arrived.
    let tps = tFirst && n > 1 && tLast > tFirst ? (n - 1) / ((tLast - tFirst) / 1000) : 0;
    if (timings) tps = timings.predicted_per_second;
    msg.stats = {
      prompt_tokens: usage ? usage.prompt_tokens : undefined,
      completion_tokens: n,
      estimated: !usage,
      seconds: (tEnd - t0) / 1000,
      tps: tps,
      tps_estimated: !timings,
      stopped: stopped,
      finish_reason: finish,
    };
    if (!msg.error && !msg.content && !msg.reasoning && !stopped) msg.error = "The model gave an empty answer.";
    conv.updated = Date.now();
    setRunning(null);
    saveConversations();
    if (el.isConnected) View.fillAssistant(el, msg, conv, index, false);
    $("message").focus();
  }

  function stop() {
    if (state.running) state.running.controller.abort();
  }

  // Wiring.
  function init() {
    fillSettings();
    renderSidebar();
    $("composer").addEventListener("submit", function (e) {
      e.preventDefault();
      const box = $("message");
      const text = box.value;
      if (!text.trim() || state.running) return;
      box.value = "";
      send(text);
    });
    $("message").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("composer").requestSubmit();
      } else if (e.key === "Escape") {
        stop();
      }
    });
    $("stop").addEventListener("click", stop);
    $("new-chat").addEventListener("click", function () { openConversation(null); });
    $("settings-toggle").addEventListener("click", function () { showSettings($("settings").hidden); });
    $("list-toggle").addEventListener("click", function () {
      showList(!document.body.classList.contains("list-open"));
    });
    // The drawer closes on a click beside it or Escape.
    document.addEventListener("click", function (e) {
      if (document.body.classList.contains("list-open") && !$("sidebar").contains(e.target) && !$("list-toggle").contains(e.target)) showList(false);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") showList(false);
    });
    for (const f of fields) {
      $(f[0]).addEventListener("change", function (e) {
        let v = f[2](e.target.value);
        if (f[2] === Number) {
          if (!isFinite(v)) v = SAMPLING[f[1]];
          const lo = e.target.min === "" ? -Infinity : Number(e.target.min);
          const hi = e.target.max === "" ? Infinity : Number(e.target.max);
          v = Math.min(hi, Math.max(lo, v));
          e.target.value = v;
        }
        state.settings[f[1]] = v;
        save(KEY_SETTINGS, state.settings);
      });
    }
    $("set-key").addEventListener("change", function (e) {
      state.apiKey = e.target.value.trim();
      save(KEY_API, state.apiKey);
      loadServer();
    });
    $("settings-reset").addEventListener("click", function () {
      Object.assign(state.settings, SAMPLING);
      save(KEY_SETTINGS, state.settings);
      fillSettings();
    });
    if (!conversation(state.current)) state.current = null;
    renderMessages();
    loadServer();
  }

  init();
})();
