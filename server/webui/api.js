// The chat page's side of this server's API: requests with the API key,
// error texts from OpenAI-shaped error bodies, and the events of a
// server-sent stream.
(function (global) {
  "use strict";

  // call fetches path from this server, as JSON, with the key (when any)
  // as a bearer token.
  function call(path, options, key) {
    const opts = Object.assign({}, options);
    opts.headers = Object.assign({ "Content-Type": "application/json" }, opts.headers);
    if (key) opts.headers.Authorization = "Bearer " + key;
    return fetch(path, opts);
  }

  // errorText returns what a failed response says went wrong.
  async function errorText(resp) {
    try {
      const body = await resp.json();
      const e = body && body.error;
      if (typeof e === "string") return e;
      if (e && e.message) return e.message;
    } catch (err) { /* not JSON */ }
    return resp.status + " " + resp.statusText;
  }

  // events yields the JSON objects of a server-sent event stream (its
  // "data:" lines) until [DONE] or the end; an error event throws.
  async function* events(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      buf += decoder.decode(r.value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") return;
          const obj = JSON.parse(data);
          if (obj.error) throw new Error(obj.error.message || String(obj.error));
          yield obj;
        }
      }
    }
  }

  global.qilinAPI = { call: call, errorText: errorText, events: events };
})(window);
