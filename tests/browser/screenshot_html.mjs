// Opens nbconvert HTML exports (or any page with embedtune charts) in headless Chromium with the network
// limited to the machine, screenshots each page and each chart, and fails if a chart did not draw, a script
// threw, or the page tried to fetch anything from outside.
//
//   node tests/browser/screenshot_html.mjs --out DIR [--min-charts N] [--allow-blocked] PAGE.html...
//
// --allow-blocked: report blocked requests without failing (for nbconvert's stock template, whose
// RequireJS/MathJax come from CDNs; they are blocked all the same).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { launchBrowser, checkCharts } from "./lib.mjs";

function parseArgs(argv) {
  const opts = { out: null, minCharts: 1, allowBlocked: false, pages: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") opts.out = argv[++i];
    else if (a === "--min-charts") opts.minCharts = Number(argv[++i]);
    else if (a === "--allow-blocked") opts.allowBlocked = true;
    else if (a.startsWith("--")) throw new Error(`unknown flag ${a}`);
    else opts.pages.push(a);
  }
  if (!opts.out || opts.pages.length === 0 || !Number.isInteger(opts.minCharts) || opts.minCharts < 0) {
    throw new Error("usage: node screenshot_html.mjs --out DIR [--min-charts N] [--allow-blocked] PAGE.html...");
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opts.out, { recursive: true });
  const browser = await launchBrowser();
  let passed = 0, failed = 0;
  try {
    for (const file of opts.pages) {
      const name = path.basename(file).replace(/\.html?$/, "");
      const problems = [];
      const page = await browser.context.newPage();
      page.on("pageerror", (e) => problems.push(`${name}: script error: ${e.message}`));
      const before = browser.blocked.length;
      await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: "load" });
      problems.push(...(await checkCharts(browser.context, page, opts.out, name, { minCharts: opts.minCharts })));
      await page.screenshot({ path: path.join(opts.out, `${name}.png`), fullPage: true });
      const blocked = browser.blocked.slice(before);
      if (blocked.length > 0) {
        const msg = `${name}: the page tried to reach outside the machine (blocked): ${blocked.join(", ")}`;
        if (opts.allowBlocked) console.log(`note ${msg}`);
        else problems.push(msg);
      }
      const n = await page.locator(".embedtune-chart").count();
      await page.close();
      if (problems.length > 0) {
        failed++;
        for (const p of problems) console.log(`FAIL ${p}`);
      } else {
        passed++;
        console.log(`ok ${name}: ${n} chart(s) drawn, screenshots in ${opts.out}`);
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(`screenshot_html: ${e.stack || e}`);
  process.exit(1);
});
