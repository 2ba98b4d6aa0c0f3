import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPage } from '../src/ui/page.js';
import type { KeyHealth, StatusView, StatusViewKey } from '../src/ui/status-view.js';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';
import {
  artifactPath,
  type Browser,
  CHROMIUM,
  launchBrowser,
  openPage,
  type RunningUi,
  startUi,
} from './ui-browser.js';

// How the status page looks, in Debian's Chromium: many keys and a long one on a laptop and on
// a phone, the summary bar, the order, the details and each key's timeline. Screenshots go to
// artifacts/ui/ (git-ignored); look at them after a change.

const LONG_KEY = 'warehouse/analytics/export/customer-lifetime-value-by-region-daily';
const NOW = new Date();
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();
const version = (minutes: number, n: number) =>
  `${minutesAgo(minutes).replace(/[-:]/g, '').replace('.', '')}-${String(n).padStart(12, '0')}`;

function key(name: string, problems: KeyHealth[], extra: Partial<StatusViewKey> = {}) {
  const v = version(30, name.length);
  return {
    key: name,
    management: 'local',
    description: null,
    declarations: 1,
    version: v,
    createdAt: minutesAgo(30),
    size: 1536 + name.length,
    sha256: 'ab'.repeat(32),
    generation: null,
    pinnedVersion: v,
    lastRefresh: null,
    health: problems[0] ?? 'up-to-date',
    problems,
    reason: problems.length ? `Reasons for ${problems.join(' and ')}.` : 'Latest and pinned.',
    ...extra,
  } satisfies StatusViewKey;
}

const FAILURE = 'catalog API answered 503 Service Unavailable';
const failed = (name: string, stale: boolean) =>
  key(name, stale ? ['failed', 'stale'] : ['failed'], {
    lastRefresh: {
      status: 'failed',
      at: minutesAgo(5),
      version: null,
      error: { code: 'REFRESH_FAILED', message: FAILURE },
    },
    reason: `The last refresh, at ${minutesAgo(5).slice(0, 19).replace('T', ' ')}Z, failed: ${FAILURE}${stale ? ' Not refreshed within the maximum age (1h).' : ''}`,
  });

const VIEW: StatusView = {
  schemaVersion: 1,
  generatedAt: NOW.toISOString(),
  project: '/srv/app',
  store: 's3://acme-defstate/data-platform/prod',
  maxAgeMs: 3_600_000,
  pinnedAt: minutesAgo(60),
  writable: false,
  error: null,
  keys: [
    key(LONG_KEY, []),
    ...Array.from({ length: 35 }, (_, index) =>
      key(`table-${String(index + 1).padStart(2, '0')}`, []),
    ),
    failed('orders', true),
    failed('customers', false),
    key('flags', ['update-available'], {
      management: 'versioned',
      pinnedVersion: version(90, 1),
      reason: 'The pin file names an older version.',
    }),
    key('catalog', ['rolled-back'], {
      management: 'versioned',
      pinnedVersion: version(10, 2),
      reason: 'Latest is older than the pinned version: it was rolled back.',
    }),
    key('services', ['pin-mismatch'], { pinnedVersion: version(120, 3) }),
    key('empty', ['no-state'], {
      version: null,
      createdAt: null,
      size: null,
      sha256: null,
      pinnedVersion: null,
      reason: 'No state yet.',
    }),
  ],
  undeclared: [
    {
      key: 'legacy/orders-v1',
      version: version(60 * 24 * 40, 4),
      createdAt: minutesAgo(60 * 24 * 40),
      size: 2048,
    },
    {
      key: 'renamed-catalog',
      version: version(60 * 3, 5),
      createdAt: minutesAgo(60 * 3),
      size: 512,
    },
  ],
};

const rows = (page: Page) => page.locator('#rows tr');
const order = (page: Page) =>
  rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));

let browser: Browser;
let sandbox: Sandbox;
let staticFile: string;
beforeAll(async () => {
  browser = await launchBrowser();
  sandbox = await createSandbox();
  staticFile = join(sandbox.project, 'status.html');
  await writeFile(staticFile, await renderPage({ mode: 'static', view: VIEW }));
});
afterAll(async () => {
  await browser?.close();
  await sandbox?.cleanup();
});

async function open(width: number, height: number) {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.setViewportSize({ width, height });
  await openPage(page, pathToFileURL(staticFile).href);
  await expect.poll(() => rows(page).count()).toBe(42);
  return { page, errors };
}

describe('the status page with 42 keys and a 66-character key', () => {
  it('lists the keys the store holds and the project does not declare, under the table', async () => {
    const { page, errors } = await open(1280, 800);
    const section = page.locator('#undeclared');
    expect(await section.isVisible()).toBe(true);
    expect(await section.locator('li code').allTextContents()).toEqual([
      'legacy/orders-v1',
      'renamed-catalog',
    ]);
    expect(await section.textContent()).toContain('defstate prune --undeclared --older-than 30d');
    expect(await page.locator('#summary').textContent()).toContain('2 undeclared in the store');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('at 1280 px: every row is one line, the long key truncated with the full key on hover and focus', async () => {
    expect(LONG_KEY).toHaveLength(66);
    const { page, errors } = await open(1280, 800);
    const heights = await rows(page).evaluateAll((trs) =>
      trs.map((tr) => tr.getBoundingClientRect().height),
    );
    const lineHeight = Math.min(...heights);
    expect(Math.max(...heights)).toBeLessThanOrEqual(lineHeight + 1);
    expect(lineHeight).toBeLessThan(40);
    const onScreen = heights.length
      ? await rows(page).evaluateAll(
          (trs) =>
            trs.filter(
              (tr) =>
                tr.getBoundingClientRect().bottom <=
                (tr.ownerDocument.defaultView?.innerHeight ?? 0),
            ).length,
        )
      : 0;
    expect(onScreen).toBeGreaterThanOrEqual(15);
    expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(
      1280,
    );

    const button = page.locator(`#rows tr[data-key="${LONG_KEY}"] td.key button`);
    expect(await button.textContent()).toBe(LONG_KEY);
    const text = button.locator('.key-text');
    expect(await text.evaluate((span) => span.scrollWidth > span.clientWidth)).toBe(true);
    expect(await button.getAttribute('title')).toBe(LONG_KEY);
    const shown = () =>
      button.evaluate((b) =>
        (b.ownerDocument.defaultView?.getComputedStyle(b, '::after').content ?? '').replace(
          /^"|"$/g,
          '',
        ),
      );
    await button.hover();
    expect(await shown()).toBe(LONG_KEY);
    await page.screenshot({ path: await artifactPath('layout-1280-hover.png') });
    await page.mouse.move(1270, 790);
    await button.focus();
    expect(await shown()).toBe(LONG_KEY);
    // A short key is never covered by a copy of itself.
    const short = page.locator('#rows tr[data-key="table-01"] td.key button');
    await short.hover();
    expect(
      await short.evaluate(
        (b) => b.ownerDocument.defaultView?.getComputedStyle(b, '::after').content,
      ),
    ).toBe('none');
    await page.mouse.move(1270, 790);
    await page.locator('#filter').focus();
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: await artifactPath('layout-1280.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('at 390 px: compact cards of at most three lines, nothing wider than the screen', async () => {
    const { page, errors } = await open(390, 844);
    const heights = await rows(page).evaluateAll((trs) =>
      trs.map((tr) => tr.getBoundingClientRect().height),
    );
    expect(Math.max(...heights)).toBeLessThanOrEqual(80);
    expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.screenshot({ path: await artifactPath('layout-390.png') });
    await page.screenshot({ path: await artifactPath('layout-390-full.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists what needs attention first, and shows every problem of a key', async () => {
    const { page } = await open(1280, 800);
    expect((await order(page)).slice(0, 6)).toEqual([
      'customers',
      'orders',
      'services',
      'empty',
      'flags',
      'catalog',
    ]);
    const badges = page.locator('#rows tr[data-key="orders"] td[data-label="Status"] .health');
    expect(await badges.allTextContents()).toEqual(['failed last refresh', 'stale']);
    expect(
      await page.locator('#rows tr[data-key="catalog"] td[data-label="Status"]').textContent(),
    ).toBe('rolled back');
    await page.close();
  });

  it('has a summary bar with a count per status that filters when clicked', async () => {
    const { page } = await open(1280, 800);
    const bar = page.getByRole('group', { name: 'Filter by status' });
    const failedButton = bar.getByRole('button', { name: /2 failed last refresh/ });
    expect(await bar.getByRole('button', { name: /36 up to date/ }).count()).toBe(1);
    expect(await bar.getByRole('button', { name: /1 stale/ }).count()).toBe(1);
    await failedButton.click();
    await expect.poll(() => order(page)).toEqual(['customers', 'orders']);
    expect(await failedButton.getAttribute('aria-pressed')).toBe('true');
    await page.screenshot({ path: await artifactPath('layout-filtered.png') });
    await failedButton.click();
    await expect.poll(() => rows(page).count()).toBe(42);
    expect(await failedButton.getAttribute('aria-pressed')).toBe('false');
    await page.close();
  });

  it('shows a failure’s message once in the details', async () => {
    const { page } = await open(1280, 800);
    await page.locator('#rows tr[data-key="orders"] td.key button').click();
    const facts = page.locator('#details-facts');
    await facts.waitFor();
    const text = (await facts.textContent()) ?? '';
    expect(text.split(FAILURE)).toHaveLength(2);
    await page.screenshot({ path: await artifactPath('layout-details-failed.png') });
    await page.close();
  });

  it('paints the keys before any script runs', async () => {
    const plain = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const context = await plain.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(pathToFileURL(staticFile).href);
      expect(await rows(page).count()).toBe(42);
      expect(await page.locator('#summary').textContent()).toMatch(/^42 keys · 6 need attention/);
      expect(await page.locator('body').textContent()).not.toContain('Loading…');
      await page.screenshot({ path: await artifactPath('layout-no-script.png') });
      // The script takes the server's rows over as they are: the same order and the same text.
      const cellsOf = (target: Page) =>
        rows(target).evaluateAll((trs) =>
          trs.map((tr) => [...tr.children].map((td) => td.textContent)),
        );
      const painted = await cellsOf(page);
      const scripted = await open(1280, 800);
      expect(await cellsOf(scripted.page)).toEqual(painted);
      await scripted.page.close();
    } finally {
      await plain.close();
    }
  });
});

describe('the live page', () => {
  let project: Sandbox;
  let ui: RunningUi;
  beforeAll(async () => {
    project = await createSandbox();
    await project.write(
      'defstate.config.mjs',
      configModule([
        [
          'catalog',
          'versioned',
          `await writeFile(statePath, 'x'.repeat(Number(process.env.SIZE ?? 100)));`,
        ],
        ['services', 'local', `await writeFile(statePath, 'S');`],
      ]),
    );
    for (const size of [100, 400, 900, 1600]) {
      const refreshed = await runDefstate(['refresh'], {
        cwd: project.project,
        env: { ...project.env, SIZE: String(size) },
      });
      expect(refreshed.code, refreshed.stderr).toBe(0);
    }
    ui = await startUi(project);
  });
  afterAll(async () => {
    await ui?.stop();
    await project?.cleanup();
  });

  it('is served with its keys already in the HTML', async () => {
    const html = await (await fetch(ui.url)).text();
    expect(html).toContain('<tr data-key="catalog"');
    expect(html).toContain('<tr data-key="services"');
    expect(html).not.toContain('Loading…');
  });

  it('draws each key’s history as a timeline: versions over time, size as a line', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await openPage(page, ui.url);
    await page.locator('#rows tr[data-key="catalog"] td.key button').click();
    const timeline = page.locator('#timeline svg');
    await timeline.waitFor();
    expect(await timeline.locator('circle.version').count()).toBe(4);
    expect(await timeline.locator('polyline.size').count()).toBe(1);
    expect(await page.locator('#timeline').textContent()).toMatch(/4 versions.*growing/s);
    await page.screenshot({ path: await artifactPath('layout-timeline.png') });
    await page.close();
  });
});
