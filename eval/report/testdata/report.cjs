// Opens an eval report or comparison (report.html) in a real browser
// (Debian's chromium through playwright-core) for TestReportInBrowser,
// checks that nothing on it is broken, and takes screenshots. The test
// passes the settings as JSON in QILIN_REPORT:
//
//   file      the page's path
//   title     how its title starts
//   tables    {NAME: rows}: the tables by accessible name, and their rows
//   charts    how many charts the page must draw
//   drill     whether it has samples to open (a report, not a comparison)
//   shots     the folder for the screenshots (NAME-desktop.png,
//             NAME-samples.png, NAME-phone.png), name their prefix
//   chromium  the browser's path
//
// It prints one line per check and exits 1 at the first that fails.
"use strict";

const { chromium } = require("playwright-core");
const path = require("path");
const { pathToFileURL } = require("url");

const cfg = JSON.parse(process.env.QILIN_REPORT || "{}");
const url = pathToFileURL(cfg.file).href;

function check(ok, what) {
  if (!ok) throw new Error("FAIL: " + what);
  console.log("ok: " + what);
}

// watch records script errors, console errors (a Content Security Policy
// that blocks something shows there), dialogs (an alert() that hostile
// text smuggled in) and any request but the page itself.
function watch(page, problems) {
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
  page.on("dialog", (d) => { problems.push("dialog: " + d.message()); d.dismiss(); });
  page.on("request", (r) => { if (r.url() !== url) problems.push("request: " + r.url()); });
}

// chartProblems lists the charts that draw nothing or whose texts stick
// out of them.
function chartProblems() {
  const out = [];
  for (const svg of document.querySelectorAll("svg[role=img]")) {
    const name = svg.getAttribute("aria-label");
    const box = svg.getBoundingClientRect();
    if (box.width < 50 || box.height < 50) out.push(name + ": " + box.width + "x" + box.height);
    if (svg.querySelectorAll("rect, polyline, circle").length === 0) out.push(name + ": no marks");
    for (const t of svg.querySelectorAll("text")) {
      const b = t.getBoundingClientRect();
      if (b.width === 0 && t.textContent.trim() !== "") out.push(name + ": text " + JSON.stringify(t.textContent) + " not drawn");
      if (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1)
        out.push(name + ": text " + JSON.stringify(t.textContent) + " outside the chart");
    }
  }
  return out;
}

// overlaps lists pairs of chart texts drawn over each other.
function overlaps() {
  const out = [];
  for (const svg of document.querySelectorAll("svg[role=img]")) {
    const boxes = [...svg.querySelectorAll("text")].map((t) => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, p] = boxes[i], [b, q] = boxes[j];
        if (p.left < q.right - 1 && q.left < p.right - 1 && p.top < q.bottom - 1 && q.top < p.bottom - 1)
          out.push(svg.getAttribute("aria-label") + ": " + JSON.stringify(a) + " over " + JSON.stringify(b));
      }
  }
  return out;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const problems = [];
  let page;
  try {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // A loaded machine (tests in parallel on two cores) can take long to
    // lay out a page: wait for it rather than fail.
    page.setDefaultTimeout(150000);
    page.setDefaultNavigationTimeout(150000);
    watch(page, problems);
    await page.goto(url, { waitUntil: "load" });
    check((await page.title()).startsWith(cfg.title), "the page loads: " + (await page.title()));
    for (const [name, rows] of Object.entries(cfg.tables)) {
      const table = page.getByRole("table", { name: name, exact: true });
      const n = await table.locator("tbody tr").count();
      check(n === rows, `table "${name}" has ${n} rows (want ${rows})`);
    }
    const charts = await page.locator("svg[role=img]").count();
    check(charts === cfg.charts, `${charts} charts (want ${cfg.charts})`);
    const bad = await page.evaluate(chartProblems);
    check(bad.length === 0, "every chart draws, and its texts lie inside it" + (bad.length ? ": " + bad.join("; ") : ""));
    const over = await page.evaluate(overlaps);
    check(over.length === 0, "no chart text overlaps another" + (over.length ? ": " + over.join("; ") : ""));
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(wide <= 0, `the page fits the window's width (${wide} px too wide)`);
    await page.screenshot({ path: path.join(cfg.shots, cfg.name + "-desktop.png"), fullPage: true });

    // The drill-down: open a model's samples, then a wrong answer.
    if (cfg.drill) {
      const group = page.locator(".drill > details").first();
      await group.locator(":scope > summary").click();
      const sample = group.locator(".samples details").first();
      await sample.locator(":scope > summary").click();
      check(await sample.locator("dd").first().isVisible(), "a sample opens and shows its prompt");
      const raw = await sample.locator("dt:text-is('raw answer') + dd pre").innerText();
      check(raw.includes("<script>"), "hostile text in an answer shows as text: " + JSON.stringify(raw.slice(-60)));
      await sample.scrollIntoViewIfNeeded();
      const box = await group.boundingBox();
      await page.screenshot({ path: path.join(cfg.shots, cfg.name + "-samples.png"),
        clip: { x: 0, y: Math.max(box.y - 10, 0), width: 1280, height: Math.min(box.height + 20, 1100) } });
    }

    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload({ waitUntil: "load" });
    const narrow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(narrow <= 0, `on a phone the page scrolls no wider than the screen (${narrow} px; wide tables scroll in their box)`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(cfg.shots, cfg.name + "-phone.png") });
    check(problems.length === 0, "no script error, console error, dialog or request" + (problems.length ? ": " + problems.join("; ") : ""));
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(cfg.shots, cfg.name + "-failure.png"), fullPage: true }).catch(() => {});
    console.log(e.message);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
