/**
 * The live page in a real browser (Debian's Chromium, driven by playwright-core) against a running
 * `infergate demo` under bounded traffic: it loads without console errors, shows every pool and
 * endpoint of the demo, its numbers change while traffic flows, it explains decisions, and it fits
 * a phone's width. Saves screenshots (to $INFERGATE_SCREENSHOT_DIR, e.g. docs/images, or a temp dir).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageSnapshot } from '../../src/admin/snapshot.js';
import { hasTool, toolPath } from '../helpers/deps.js';
import { getJson, type RunningDemo, sendTraffic, startDemo } from './demo.js';

const shotDir = process.env.INFERGATE_SCREENSHOT_DIR
  ? resolve(process.env.INFERGATE_SCREENSHOT_DIR)
  : mkdtempSync(join(tmpdir(), 'infergate-page-'));

describe.skipIf(!hasTool('chromium'))('live page in Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    demo = await startDemo();
    browser = await chromium.launch({
      executablePath: toolPath('chromium')!,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.cli.stop();
  });

  function watch(page: Page): void {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  }

  it('shows every pool and endpoint, numbers that move with traffic, and why each endpoint was picked', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    watch(page);
    await page.goto(`${demo.admin}/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });

    // Every pool and endpoint the gateway serves is on the page.
    const snap = await getJson<PageSnapshot>(`${demo.admin}/admin/snapshot`);
    expect(snap.pools.length).toBeGreaterThan(0);
    for (const pool of snap.pools) {
      const card = page.locator(`[data-pool="${pool.key}"]`);
      await card.waitFor({ timeout: 10_000 });
      expect(pool.endpoints.length).toBe(2);
      for (const ep of pool.endpoints) {
        await expect(card.locator(`[data-endpoint="${ep.id}"]`).count()).resolves.toBe(1);
      }
    }
    const plan = await getJson<{ pools: { pool: string; endpoints: string[] }[] }>(
      `${demo.admin}/admin/plan`,
    );
    expect(plan.pools.map((p) => p.pool).sort()).toEqual(snap.pools.map((p) => p.key).sort());

    // Traffic flows (bounded): the counters on the page move.
    const readStat = (key: string) => page.locator(`[data-stat="${key}"]`).innerText();
    const before = await readStat('requests');
    const seen = new Set<string>([before]);
    let moved = false;
    const traffic = sendTraffic(demo, {
      count: 400,
      concurrency: 4,
      maxMs: 30_000,
      stop: () => moved,
    });
    for (let i = 0; i < 40 && !moved; i++) {
      await page.waitForTimeout(500);
      seen.add(await readStat('requests'));
      moved = seen.size >= 3;
    }
    const sent = await traffic;
    expect(sent.ok).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(Number(await readStat('requests'))).toBeGreaterThan(0);

    // The decision list explains a pick: scorer columns, the pick highlighted.
    await page.waitForSelector('details.decision[open] tr.pick', { timeout: 10_000 });
    const why = await page.locator('details.decision[open]').first().innerText();
    expect(why).toMatch(/decisive scorer/);
    expect(why).toMatch(/total/);
    // The canary split of the demo's InferenceModel is shown with its configured weights.
    await expect(page.locator('#canary').innerText()).resolves.toMatch(/travel-helper-v1[\s\S]*90%/);

    await page.waitForTimeout(1_500); // one more refresh, so the charts hold the traffic
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: join(shotDir, 'page-1280x800.png') });
    await page.screenshot({ path: join(shotDir, 'page-full.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('fits a phone: no horizontal scrolling of the page itself', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    watch(page);
    await page.goto(`${demo.admin}/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
    await page.waitForSelector('[data-pool]', { timeout: 10_000 });
    // Evaluated in the browser (the test's own lib has no DOM types).
    const widths = (await page.evaluate(
      '({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })',
    )) as { scroll: number; view: number };
    expect(widths.scroll).toBeLessThanOrEqual(widths.view + 1);
    await page.screenshot({ path: join(shotDir, 'page-phone.png') });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);
});
