// Drives qilin's chat page in a real browser (Debian's chromium through
// playwright-core) as a user would, for TestChatPageInBrowser. The test
// passes the settings as JSON in QILIN_WEBUI:
//
//   url       the server's address
//   key       the API key the server asks for ("" for none)
//   mode      "completion" (a model without a chat template) or "chat"
//   prompt    the first message, answered in at most short tokens
//   reasoning text the first answer's reasoning block must hold ("" for
//             none), answer text its answer must hold, code the text of
//             a code block in it ("" for none)
//   long      the second message, whose answer the server writes slowly
//             and this script stops
//   shots     the folder for the screenshots (NAME-desktop.png,
//             NAME-streaming.png, NAME-phone.png, NAME-phone-list.png;
//             NAME-failure.png when a check fails), name their prefix
//   chromium  the browser's path
//
// It prints one line per check and exits 1 at the first that fails.
"use strict";

const { chromium } = require("playwright-core");

const cfg = JSON.parse(process.env.QILIN_WEBUI || "{}");
const origin = new URL(cfg.url).origin;

function check(ok, what) {
  if (!ok) throw new Error("FAIL: " + what);
  console.log("ok: " + what);
}

// watch fails the run on script errors, console errors (a broken Content
// Security Policy shows there), failed loads (but the API's 401 while the
// page has no key) and on any request away from the server.
function watch(page, problems) {
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    // A failed load is also a response, judged below.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push("console error: " + m.text());
  });
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    const api = path === "/props" || path.startsWith("/v1/");
    if (r.status() >= 400 && !(api && r.status() === 401 && cfg.key)) problems.push(r.status() + " for " + r.url());
  });
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(origin + "/") && !u.startsWith("data:")) problems.push("request away from the server: " + u);
  });
}

async function setField(page, label, value) {
  const f = page.getByLabel(label, { exact: true });
  await f.fill(String(value));
  await f.dispatchEvent("change");
}

async function openSettings(page) {
  const toggle = page.getByRole("button", { name: "Settings" });
  if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
}

async function closeSettings(page) {
  const toggle = page.getByRole("button", { name: "Settings" });
  if ((await toggle.getAttribute("aria-expanded")) === "true") await toggle.click();
}

// answer returns the n-th assistant answer (0-based) once it is complete
// (its statistics line appears when the stream ends).
async function answer(page, n, timeout) {
  const a = page.locator('[data-role="assistant"]').nth(n);
  await a.locator(".meta .stats").waitFor({ timeout: timeout || 30000 });
  return a;
}

async function send(page, text) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const problems = [];
  let page;
  try {
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await desktop.newPage();
    page.setDefaultTimeout(30000);
    watch(page, problems);
    await page.goto(cfg.url + "/");
    check((await page.title()) === "qilin", "the page loads");

    if (cfg.key) {
      await page.locator("#notice", { hasText: "API key" }).waitFor();
      check(true, "without the key the page asks for it");
      await openSettings(page);
      await setField(page, "API key", cfg.key);
    }
    const wantMode = cfg.mode === "completion" ? "plain completion" : "chat";
    await page.locator("#mode", { hasText: wantMode }).waitFor();
    check(true, "the page shows the mode: " + (await page.locator("#mode").textContent()));

    await openSettings(page);
    await setField(page, "Max tokens", cfg.short);
    await closeSettings(page);

    // A short answer, streamed to its end.
    await send(page, cfg.prompt);
    let a = await answer(page, 0);
    const content = (await a.locator(".content").textContent()) || "";
    check(content.startsWith(cfg.mode === "completion" ? cfg.prompt : "") && content.length > cfg.prompt.length,
      "the first answer streamed to its end: " + JSON.stringify(content.slice(0, 80)));
    const stats = await a.locator(".meta .stats").textContent();
    // The server's counts and speed (an estimate would carry a "~").
    check(/^\d+ prompt tokens · \d+ tokens · \d+\.\d tok\/s/.test(stats), "token counts and tok/s: " + stats);
    check(await a.getByRole("button", { name: "Copy answer" }).isVisible(), "a copy button per answer");
    if (cfg.answer) check(content.includes(cfg.answer), "the answer holds " + JSON.stringify(cfg.answer));
    if (cfg.reasoning) {
      const r = a.locator('[data-role="reasoning"]');
      check((await r.count()) === 1, "the answer has a reasoning block");
      check(!(await r.evaluate((d) => d.open)), "the reasoning block is folded once the answer came");
      await r.locator("summary").click();
      check((await r.textContent()).includes(cfg.reasoning), "the reasoning block holds " + JSON.stringify(cfg.reasoning));
      check(!content.includes(cfg.reasoning), "the reasoning is not in the answer");
    } else {
      check((await a.locator('[data-role="reasoning"]').count()) === 0, "no reasoning block");
    }
    if (cfg.code) {
      const code = a.locator(".codeblock pre code");
      check((await code.textContent()) === cfg.code, "the code block shows the code: " + JSON.stringify(cfg.code));
      check(await a.getByRole("button", { name: "Copy code" }).isVisible(), "the code block has a copy button");
      check((await page.locator(".messages img, .messages script, .messages [onerror]").count()) === 0,
        "markup in the answer stays text");
    }
    await page.screenshot({ path: `${cfg.shots}/${cfg.name}-desktop.png` });
    check(true, "desktop screenshot saved");

    // A long answer, stopped.
    await openSettings(page);
    await setField(page, "Max tokens", 100000); // the page keeps it to the server's limit
    await closeSettings(page);
    await send(page, cfg.long);
    const stopButton = page.getByRole("button", { name: "Stop" });
    await stopButton.waitFor({ state: "visible" });
    const second = page.locator('[data-role="assistant"]').nth(1);
    // Some of the answer (beyond the prompt a completion repeats) first.
    await page.waitForFunction((skip) => {
      const a = document.querySelectorAll('[data-role="assistant"]')[1];
      return a && a.textContent.length > skip + 40;
    }, cfg.mode === "completion" ? cfg.long.length : 0);
    await page.screenshot({ path: `${cfg.shots}/${cfg.name}-streaming.png` });
    await stopButton.click();
    a = await answer(page, 1, 5000);
    const stopped = await a.locator(".meta .stats").textContent();
    check(/stopped/.test(stopped), "Stop ends the long answer: " + stopped);
    check(await stopButton.isHidden(), "the Stop button goes away");
    check(await page.getByRole("button", { name: "Send" }).isEnabled(), "Send works again");
    const kept = await second.textContent();

    // The conversation survives a reload, in the list and on the page.
    await page.reload();
    await page.locator('[data-role="assistant"]').nth(1).waitFor();
    check((await page.locator('[data-role="assistant"]').count()) === 2, "after a reload the conversation is back");
    check((await page.locator('[data-role="assistant"]').nth(1).textContent()) === kept, "with the stopped answer as it was");
    await page.getByRole("button", { name: "New conversation" }).click();
    check((await page.locator('[data-role="assistant"]').count()) === 0, "New conversation empties the page");
    const title = cfg.prompt.slice(0, 60);
    await page.locator("#conversations").getByRole("button", { name: title, exact: true }).click();
    check((await page.locator('[data-role="assistant"]').count()) === 2, "the list reopens the conversation");

    // Hostile Markdown stays text: no element but the renderer's own, no
    // link but http(s) and mailto.
    const hostile = await page.evaluate(() => {
      const inputs = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:alert(1))",
        "[a](JaVaScRiPt:alert(1))", "[a](data:text/html,x)", "<javascript:alert(1)>", "![i](http://x/i.png)",
        "**<b>b</b>**", "`<i>`", "<a href=\"javascript:alert(1)\">y</a>", "```html\n<svg onload=alert(1)>\n```",
        "> <iframe src=x>", "- [x](vbscript:msgbox)", "&lt;b&gt; &amp;", "[ok](https://example.com/a?b=<c>)"];
      const allowed = new Set(["P", "STRONG", "EM", "DEL", "CODE", "PRE", "A", "BR", "DIV", "SPAN", "BUTTON", "UL", "OL",
        "LI", "BLOCKQUOTE", "H1", "H2", "H3", "H4", "H5", "H6", "HR"]);
      const bad = [];
      for (const text of inputs) {
        const box = document.createElement("div");
        box.appendChild(window.qilinMarkdown.render(text, null));
        for (const e of box.querySelectorAll("*")) {
          if (!allowed.has(e.tagName)) bad.push(text + " made <" + e.tagName + ">");
          for (const a of e.attributes) {
            if (a.name.startsWith("on")) bad.push(text + " made " + a.name);
            if (a.name === "href" && !/^(https?:|mailto:)/i.test(a.value)) bad.push(text + " linked " + a.value);
          }
        }
        if (!box.textContent.trim()) bad.push(text + " vanished");
      }
      return bad;
    });
    check(hostile.length === 0, "hostile Markdown stays text" + (hostile.length ? ": " + hostile.join("; ") : ""));

    // A narrow phone screen.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    watch(small, problems);
    await small.goto(cfg.url + "/");
    if (cfg.key) {
      await small.locator("#notice", { hasText: "API key" }).waitFor();
      await openSettings(small);
      await setField(small, "API key", cfg.key);
      await closeSettings(small);
    }
    await small.locator("#mode", { hasText: wantMode }).waitFor();
    await openSettings(small);
    await setField(small, "Max tokens", cfg.short);
    await closeSettings(small);
    await send(small, cfg.prompt);
    await answer(small, 0);
    const list = small.getByRole("button", { name: "Conversations" });
    const entry = small.locator("#conversations").getByRole("button", { name: title, exact: true });
    check(await entry.isHidden(), "on a phone the conversation list is folded away");
    await list.click();
    check(await entry.isVisible(), "the Conversations button shows it");
    await small.screenshot({ path: `${cfg.shots}/${cfg.name}-phone-list.png` });
    await small.mouse.click(370, 400);
    check(await entry.isHidden(), "a tap beside the list folds it");
    await list.click();
    await entry.click();
    check(await entry.isHidden(), "choosing a conversation folds it again");
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, "nothing sticks out sideways on a phone (" + overflow + " px)");
    await small.screenshot({ path: `${cfg.shots}/${cfg.name}-phone.png` });
    check(true, "phone screenshot saved");

    check(problems.length === 0, "no script errors and no requests away from the server" +
      (problems.length ? ": " + problems.join("; ") : ""));
  } catch (e) {
    if (page) await page.screenshot({ path: `${cfg.shots}/${cfg.name}-failure.png` }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(e.message);
  process.exit(1);
});
