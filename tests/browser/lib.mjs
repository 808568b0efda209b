// Shared helpers of the browser checks: Debian's headless Chromium through playwright-core, with every
// request that would leave the machine blocked and reported, and a pixel check that a chart really drew.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const CHROMIUM = process.env.EMBEDTUNE_CHROMIUM || "/usr/bin/chromium";

// launchBrowser starts headless Chromium with a fresh profile. Host resolution is limited to loopback, so
// nothing can leave the machine even if a request slipped past the route filter.
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) ` +
        `or set EMBEDTUNE_CHROMIUM to its path (scripts/browser_setup.sh does the install)`,
    );
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "embedtune-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ],
  });
  const blocked = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return {
    context,
    blocked,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// isLocal accepts file:, data:, blob:, about: URLs and http(s)/ws(s) to loopback addresses.
export function isLocal(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (["file:", "data:", "blob:", "about:"].includes(u.protocol)) return true;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// chartPixels measures a PNG screenshot of a chart area: the number of "chromatic" pixels (max-min channel
// spread above 60 — echarts series colours, not the grey text/axes of an empty chart or of the fallback
// note) and of distinct colours. It decodes the PNG inside a blank page of the same browser.
export async function chartPixels(context, png) {
  const page = await context.newPage();
  try {
    await page.setContent("<html><body></body></html>");
    return await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const canvas = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = canvas.getContext("2d");
      ctx.drawImage(bmp, 0, 0);
      const data = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
      let chromatic = 0;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) {
        const r = data[i], g = data[i + 1], b = data[i + 2];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) chromatic++;
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
      }
      return { width: bmp.width, height: bmp.height, chromatic, colours: colours.size };
    }, png.toString("base64"));
  } finally {
    await page.close();
  }
}

// MIN_CHROMATIC is how many coloured pixels a drawn chart must have (a 900x300 line chart has thousands).
export const MIN_CHROMATIC = 300;

// checkCharts waits until every chart area (.embedtune-chart) of the page holds a drawn canvas, screenshots
// each into outDir as <prefix>-chart-<i>.png and checks its pixels. It returns the list of problems.
export async function checkCharts(context, page, outDir, prefix, { timeoutMs = 30000, minCharts = 1 } = {}) {
  const problems = [];
  const charts = page.locator(".embedtune-chart");
  // Notebook front-ends render outputs after the page loads: wait for the expected number of chart areas.
  const deadline = Date.now() + timeoutMs;
  while ((await charts.count()) < minCharts && Date.now() < deadline) await page.waitForTimeout(250);
  const n = await charts.count();
  if (n < minCharts) {
    problems.push(`${prefix}: expected at least ${minCharts} chart(s), found ${n}`);
    return problems;
  }
  for (let i = 0; i < n; i++) {
    const chart = charts.nth(i);
    await chart.scrollIntoViewIfNeeded();
    try {
      await chart.locator("canvas").first().waitFor({ state: "attached", timeout: timeoutMs });
    } catch {
      const note = (await chart.innerText().catch(() => "")).trim();
      problems.push(`${prefix}: chart ${i} has no canvas after ${timeoutMs} ms${note ? `; it says: ${note}` : ""}`);
      continue;
    }
    await page.waitForTimeout(150); // let echarts paint its first frame
    const file = path.join(outDir, `${prefix}-chart-${i}.png`);
    const png = await chart.screenshot({ path: file });
    const px = await chartPixels(context, png);
    if (px.chromatic < MIN_CHROMATIC) {
      problems.push(`${prefix}: chart ${i} looks blank (${px.chromatic} coloured pixels < ${MIN_CHROMATIC}, ${px.colours} colours; ${file})`);
    }
  }
  return problems;
}
