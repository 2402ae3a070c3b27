// Drive halyard's status page in Debian's chromium, headless, for
// tests/integration/test_status_browser.py. playwright-core (pinned by
// package-lock.json) only speaks the DevTools protocol to /usr/bin/chromium:
// it downloads no browser.
//
//   node status_page.js URL SCREENSHOT
//
// A line protocol with the test: each step prints one JSON line on stdout;
// a step that needs the test to act first waits for a line on stdin.
//   -> {"step":"loaded", backends:[{name, role, state}], primary, groups}
//   <- "watch NAME"  (the test kills NAME just after)
//   -> {"step":"down", name, ms}  once NAME's row says DOWN (ms since "watch")
//   -> {"step":"charts", before, after, series}  each chart's points, 3 s apart,
//      and the names of its lines
//   -> {"step":"screenshot", path}
//   <- "stopped"     (the test stopped halyard)
//   -> {"step":"unreachable", ms, text}
//   -> {"step":"requests", urls:[...]}  every request the page made
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const readline = require("readline");
const {chromium} = require("playwright-core");

const [url, screenshot] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const lines = readline.createInterface({input: process.stdin});
const waiting = [];
lines.on("line", (l) => { const w = waiting.shift(); if (w) w(l.trim()); });
const nextLine = () => new Promise((resolve) => waiting.push(resolve));

async function chartPoints(page) {
  return page.$$eval("figure svg.chart", (svgs) =>
    svgs.map((s) => Number(s.getAttribute("data-points"))));
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "halyard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: {width: 1280, height: 900},
  });
  const urls = [];
  context.on("request", (r) => urls.push(r.url()));
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.goto(url);
    await page.waitForSelector("#backends tbody tr[data-name]", {timeout: 10000});
    await page.waitForSelector("#conn.live", {timeout: 10000});
    const backends = await page.$$eval("#backends tbody tr[data-name]", (rows) => rows.map((r) => ({
      name: r.dataset.name, role: r.dataset.role, state: r.dataset.state,
      roleText: r.querySelector("td.role").textContent,
    })));
    const groups = await page.$$eval("#groups .group", (g) => g.map((e) => e.textContent));
    say({step: "loaded", backends, groups,
         primary: backends.filter((b) => b.role === "primary").map((b) => b.name)});

    const watch = (await nextLine()).split(" ")[1];
    const t0 = Date.now();
    await page.waitForSelector(`#backends tr[data-name="${watch}"][data-state="DOWN"]`,
                               {timeout: 15000});
    say({step: "down", name: watch, ms: Date.now() - t0});

    const before = await chartPoints(page);
    await page.waitForTimeout(3000);
    const after = await chartPoints(page);
    const series = await page.$$eval("figure svg.chart", (svgs) => svgs.map((s) =>
      Array.from(s.querySelectorAll("polyline"), (p) => p.getAttribute("data-series"))));
    say({step: "charts", before, after, series});

    await page.screenshot({path: screenshot, fullPage: true});
    say({step: "screenshot", path: screenshot});

    await nextLine(); // "stopped"
    const t1 = Date.now();
    await page.waitForSelector("#conn.unreachable", {timeout: 10000});
    say({step: "unreachable", ms: Date.now() - t1,
         text: await page.textContent("#conn"),
         stale: await page.evaluate(() => document.body.classList.contains("stale"))});
  } finally {
    say({step: "requests", urls});
    await context.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

main().then(() => process.exit(0), (e) => {
  say({step: "error", message: String(e && e.stack || e)});
  process.exit(1);
});
