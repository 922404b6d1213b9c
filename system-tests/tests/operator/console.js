// The console part of the operator drill, run by
// system-tests/tests/operator (scripts/operator-drill): headless Chromium,
// driven by puppeteer-core (pinned in package-lock.json), works the web
// console at /console/ through the gateway the way an operator would, by its
// data-test hooks (see the header of order-api/console/console.js).
//
//   node system-tests/tests/operator/console.js CONFIG.json
//
// CONFIG (written by the drill): base, chromium, username (the drill's
// customer), completed, failed (ids), parked (ids, parked by the fault, which
// is lifted by now), cancelOrder (the order to place and cancel), stack
// (scripts/stack, run as `stack kill|restart mediator`), demoParked (the
// parked order of scripts/stack demo, open in the screenshot), screenshot,
// docsScreenshot, updateDocs, failureScreenshot, result (where to write
// {retried, cancelled}). Environment: DRILL_ADMIN_PASSWORD,
// DRILL_CUSTOMER_TOKEN.
//
// One line per check (PASS/FAIL), then `N passed, M failed`. The steps depend
// on each other: the first failure ends the run (with a screenshot at
// failureScreenshot). The mediator is restarted if this script stopped it.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const puppeteer = require('puppeteer-core');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const adminPassword = process.env.DRILL_ADMIN_PASSWORD;
const customerToken = process.env.DRILL_CUSTOMER_TOKEN;
const SHORT = 15000; // a filter, a click's effect: the console answers at once
const REFRESH = 25000; // what needs the console's own 5 s refresh, and a saga's run

let passed = 0;
let failed = 0;
const result = {};
let mediatorStopped = false;

/** `scripts/stack ACTION mediator`; a restarted mediator inherits this environment, so no secrets in it. */
const mediator = (action) => {
  const env = { ...process.env };
  delete env.DRILL_ADMIN_PASSWORD;
  delete env.DRILL_CUSTOMER_TOKEN;
  execFileSync(config.stack, [action, 'mediator'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
};
const sel = (name, attrs = {}) =>
  `[data-test="${name}"]${Object.entries(attrs).map(([k, v]) => `[data-${k}="${v}"]`).join('')}`;

/** One check: PASS with its description, or FAIL with the reason, which ends the run. */
async function step(description, body) {
  const started = Date.now();
  try {
    const detail = await body();
    passed += 1;
    const took = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`PASS ${description}${detail ? ` (${detail})` : ''} [${took} s]`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${description}: ${err.message.split('\n')[0]}`);
    throw Object.assign(new Error('stopped'), { reported: true });
  }
}

/**
 * Waits until `predicate(arg)`, evaluated in the page, is truthy; on timeout
 * the error says what was wanted and what the page showed (`seen`).
 */
async function until(page, what, predicate, arg, timeout = SHORT) {
  try {
    const handle = await page.waitForFunction(predicate, { timeout, polling: 100 }, arg);
    return await handle.jsonValue();
  } catch (err) {
    if (err.name !== 'TimeoutError') throw err;
    const seen = await page.evaluate(snapshot).catch(() => 'nothing readable');
    throw new Error(`${what} within ${timeout / 1000} s; the page showed ${seen}`);
  }
}

/** What the console shows, in one line, for failure messages. Runs in the page. */
function snapshot() {
  const $ = (hook) => document.querySelector(`[data-test="${hook}"]`);
  const rows = [...document.querySelectorAll('[data-test="saga-row"]')]
    .map((r) => `${r.dataset.id}:${r.dataset.state}`).join(' ');
  const banner = $('error-banner');
  const detail = $('saga-detail');
  return [
    `rows [${rows}]`,
    detail && !detail.hidden ? `detail #${detail.dataset.id} ${$('saga-state').dataset.state || $('saga-state').textContent}` : 'no detail',
    `parked tile ${$('stat-parked') && $('stat-parked').dataset.count}`,
    banner && !banner.hidden ? `error "${$('error-message').textContent}"` : 'no error',
  ].join(', ');
}

/** The rows shown: [{id, state}]. */
const rows = (page) => page.$$eval(sel('saga-row'), (list) => list.map((r) => ({ id: Number(r.dataset.id), state: r.dataset.state })));

/** Sets the status and username filters and applies them. */
async function filter(page, status, username) {
  await page.select(sel('filter-status'), status);
  await page.$eval(sel('filter-username'), (input) => { input.value = ''; });
  await page.type(sel('filter-username'), username);
  await page.locator(sel('apply-filters')).click();
}

/** Waits until exactly these rows are listed, each in its state: {id: state}. */
function listed(page, want, timeout = SHORT) {
  return until(page, `the list to show exactly ${JSON.stringify(want)}`, (expected) => {
    const shown = [...document.querySelectorAll('[data-test="saga-row"]')];
    return shown.length === Object.keys(expected).length
      && shown.every((r) => expected[r.dataset.id] === r.dataset.state);
  }, want, timeout);
}

/** The open saga's "Reason" field. */
const detailField = (page, label) => page.$$eval(`${sel('saga-fields')} dt`, (dts, name) => {
  const dt = dts.find((d) => d.textContent === name);
  return dt ? dt.nextElementSibling.textContent : null;
}, label);

/** Waits for the open saga to be `id`, in `state`, with `reason` (if given). */
function detailShows(page, id, state, reason, timeout = SHORT) {
  return until(page, `saga #${id} to show ${state}${reason ? ` with "${reason}"` : ''}`, ([want, wantState, wantReason]) => {
    const $ = (hook) => document.querySelector(`[data-test="${hook}"]`);
    if ($('saga-detail').hidden || $('saga-detail').dataset.id !== String(want)) return false;
    if ($('saga-state').dataset.state !== wantState) return false;
    if (!wantReason) return true;
    const dt = [...document.querySelectorAll('[data-test="saga-fields"] dt')].find((d) => d.textContent === 'Reason');
    return dt && dt.nextElementSibling.textContent === wantReason;
  }, [id, state, reason], timeout);
}

/** Clicks an action of the open saga, then the confirmation dialog's confirm button. */
async function confirmAction(page, action, id) {
  await page.locator(sel(action)).click();
  await until(page, 'the confirmation dialog', () => document.querySelector('[data-test="confirm-dialog"]').open);
  const title = await page.$eval(sel('confirm-title'), (n) => n.textContent);
  if (!title.includes(`#${id}`)) throw new Error(`the dialog asks "${title}", not about #${id}`);
  await page.locator(sel('confirm')).click();
  await until(page, 'the dialog to close', () => !document.querySelector('[data-test="confirm-dialog"]').open);
  return title;
}

async function placeOrder(order) {
  const res = await fetch(`${config.base}/api/orders/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${customerToken}` },
    body: JSON.stringify(order),
  });
  const body = await res.json().catch(() => null);
  if (res.status !== 201 || !body || !body.id) throw new Error(`POST /api/orders/ answered ${res.status}`);
  return body.id;
}

async function drill(page) {
  const { username, completed, parked } = config;
  const [itemRefused] = config.failed;
  const [retried] = parked;

  await step('the console loads and asks for a sign-in', async () => {
    const res = await page.goto(`${config.base}/console/`, { waitUntil: 'load' });
    if (!res || res.status() !== 200) throw new Error(`GET /console/ answered ${res && res.status()}`);
    await until(page, 'the login form', () => !document.querySelector('[data-test="login"]').hidden);
  });

  await step('the administrator signs in (no username pre-filled)', async () => {
    const prefilled = await page.$eval(sel('login-username'), (input) => input.value);
    if (prefilled) throw new Error(`the username is pre-filled with "${prefilled}"`);
    await page.type(sel('login-username'), 'admin');
    await page.type(sel('login-password'), adminPassword);
    await page.locator(sel('login-submit')).click();
    await until(page, 'the console behind the login', () =>
      !document.querySelector('[data-test="app"]').hidden && document.querySelector('[data-test="login"]').hidden);
    return page.$eval(sel('whoami'), (n) => n.textContent);
  });

  await step('the parked tile counts at least 3', async () => {
    const count = await until(page, 'stat-parked >= 3', () => {
      const n = Number(document.querySelector('[data-test="stat-parked"]').dataset.count);
      return n >= 3 ? n : false;
    });
    return `stat-parked ${count}`;
  });

  const all = { [completed]: 'completed', [itemRefused]: 'failed' };
  for (const id of parked) all[id] = 'parked';
  await step(`filtered by ${username}: the drill's orders, 3 parked, 1 completed, 1 failed`, async () => {
    await filter(page, '', username);
    await listed(page, all);
    return `${Object.keys(all).length} rows`;
  });

  await step('filtered on failed: only the drill\'s failed order', async () => {
    await filter(page, 'failed', username);
    await listed(page, { [itemRefused]: 'failed' });
    return `#${itemRefused}`;
  });

  await step(`unfiltered, the demo data on top; the demo's parked #${config.demoParked} opens; screenshot`, async () => {
    // The top of the page: the tiles (parked in alarm), the newest sagas
    // (the demo's mix of customers and outcomes) and the demo's parked
    // saga open with its parked reason and actions.
    await filter(page, '', '');
    await until(page, `#${config.demoParked} listed parked`, (id) =>
      document.querySelector(`[data-test="saga-row"][data-id="${id}"][data-state="parked"]`), config.demoParked);
    await page.locator(sel('saga-open', { id: config.demoParked })).click();
    await detailShows(page, config.demoParked, 'parked');
    await until(page, 'the timeline with the stuck money cancel', () => [...document.querySelectorAll(
      '[data-test="timeline-entry"][data-step="money"][data-action="cancel"]',
    )].some((e) => e.querySelector('.outcome').textContent === 'stuck'));
    await page.evaluate(() => {
      if (document.activeElement) document.activeElement.blur();
      window.scrollTo(0, 0);
    });
    // Tall enough for every order of one demo run.
    await page.screenshot({ path: config.screenshot, clip: { x: 0, y: 0, width: 1280, height: 1160 }, captureBeyondViewport: true });
    const saved = [config.screenshot];
    if (config.updateDocs || !fs.existsSync(config.docsScreenshot)) {
      fs.mkdirSync(path.dirname(config.docsScreenshot), { recursive: true });
      fs.copyFileSync(config.screenshot, config.docsScreenshot);
      saved.push(config.docsScreenshot);
    }
    return `${saved.join(', ')}; ${(fs.statSync(config.screenshot).size / 1024).toFixed(0)} KiB`;
  });

  await step(`a parked saga opens with its reason and its timeline (the money cancel stuck)`, async () => {
    await filter(page, '', username);
    await listed(page, all);
    await page.locator(sel('saga-open', { id: retried })).click();
    await detailShows(page, retried, 'parked');
    await until(page, 'the timeline with the stuck money cancel', () => [...document.querySelectorAll(
      '[data-test="timeline-entry"][data-step="money"][data-action="cancel"]',
    )].some((e) => e.querySelector('.outcome').textContent === 'stuck'));
    const entries = await page.$$eval(sel('timeline-entry'), (list) => list.length);
    const note = await page.$eval(sel('parked-reason'), (n) => (n.hidden ? '' : n.textContent));
    if (!/money cancel failed/.test(note)) throw new Error(`the parked reason reads "${note}"`);
    const buttons = await page.$eval(sel('retry'), (b) => !b.hidden) && await page.$eval(sel('cancel'), (b) => !b.hidden);
    if (!buttons) throw new Error('retry and cancel are not both offered');
    return `#${retried}, ${entries} timeline entries`;
  });

  await page.evaluate(() => { window.drillNotReloaded = true; });
  await step(`retry of #${retried} from its panel, confirmed`, async () => {
    await confirmAction(page, 'retry', retried);
    result.retried = retried;
  });

  await step(`#${retried} ends failed with "Can not get the delivery slot", seen without a reload`, async () => {
    await detailShows(page, retried, 'failed', 'Can not get the delivery slot', REFRESH);
    await until(page, 'the operator\'s retry in the timeline', () =>
      document.querySelector('[data-test="timeline-entry"][data-step="operator"][data-action="retry"] [data-test="timeline-admin"]'));
    if (!(await page.evaluate(() => window.drillNotReloaded === true))) throw new Error('the page was reloaded');
    return 'timeline: operator retry by admin';
  });

  await step('the mediator is stopped', async () => {
    mediatorStopped = true;
    mediator('kill');
  });

  let cancelled;
  await step('an order placed while the mediator is stopped is listed unfinished', async () => {
    cancelled = await placeOrder(config.cancelOrder);
    result.cancelled = cancelled;
    await filter(page, '', username);
    await until(page, `#${cancelled} in the list, running`, (id) =>
      document.querySelector(`[data-test="saga-row"][data-id="${id}"][data-state="running"]`), cancelled);
    return `#${cancelled}`;
  });

  await step(`cancel of #${cancelled} from its panel, confirmed: "Cancelled by operator"`, async () => {
    await page.locator(sel('saga-open', { id: cancelled })).click();
    await detailShows(page, cancelled, 'running');
    await confirmAction(page, 'cancel', cancelled);
    await until(page, `#${cancelled} to be compensating or failed with "Cancelled by operator"`, (id) => {
      const $ = (hook) => document.querySelector(`[data-test="${hook}"]`);
      const dt = [...document.querySelectorAll('[data-test="saga-fields"] dt')].find((d) => d.textContent === 'Reason');
      return $('saga-detail').dataset.id === String(id)
        && ['compensating', 'failed'].includes($('saga-state').dataset.state)
        && dt && dt.nextElementSibling.textContent === 'Cancelled by operator';
    }, cancelled);
    return page.$eval(sel('saga-state'), (n) => `now ${n.dataset.state}`);
  });

  await step('the mediator is restarted', async () => {
    mediator('restart');
    mediatorStopped = false;
  });

  await step(`#${cancelled} ends failed with "Cancelled by operator", seen without a reload`, async () => {
    await detailShows(page, cancelled, 'failed', 'Cancelled by operator', REFRESH);
    await until(page, 'the operator\'s cancel in the timeline', () =>
      document.querySelector('[data-test="timeline-entry"][data-step="operator"][data-action="cancel"]'));
    if (!(await page.evaluate(() => window.drillNotReloaded === true))) throw new Error('the page was reloaded');
    return `reason field: ${await detailField(page, 'Reason')}`;
  });

  await step('no error left on the console', async () => {
    await until(page, 'the error banner to be hidden', () => document.querySelector('[data-test="error-banner"]').hidden, undefined, REFRESH);
  });
}

(async () => {
  let browser;
  let page;
  try {
    browser = await puppeteer.launch({
      executablePath: config.chromium,
      headless: true,
      // Root (the CI's user) cannot use Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,800'],
      defaultViewport: { width: 1280, height: 800, deviceScaleFactor: 1 },
    });
    page = await browser.newPage();
    page.on('pageerror', (err) => console.log(`[drill] page error: ${err.message}`));
    await drill(page);
  } catch (err) {
    if (!err.reported) {
      failed += 1;
      console.log(`FAIL the console part: ${err.message.split('\n')[0]}`);
    }
    if (page) await page.screenshot({ path: config.failureScreenshot }).catch(() => {});
    if (page) console.log(`[drill] the page at the failure: ${config.failureScreenshot}`);
  } finally {
    if (mediatorStopped) {
      try { mediator('restart'); } catch (err) { console.log(`[drill] restarting the mediator: ${err.message}`); }
    }
    if (browser) await browser.close().catch(() => {});
    fs.writeFileSync(config.result, JSON.stringify(result));
    console.log(`${passed} passed, ${failed} failed`);
  }
})();
