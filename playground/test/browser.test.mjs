// The playground in a real browser (headless Chromium driven by playwright-core) against
// the local stack: log in → bind phone → GET /me → a 45011 fault and its 429 → log in
// elsewhere → the stale phone data's 422 and the tap again → log out everywhere → the old
// token refused; then 注销账号 (the items vanish), and WeChat's revoke and cancellation
// pushes; then the access token (JWT) for other backends, decoded and checked against the
// JWKS. Fails on any uncaught page error; saves a screenshot.
//   WXLOGIN_GATEWAY_URL=http://127.0.0.1:9200 PLAYWRIGHT_CORE=<path to playwright-core>
//   node --test playground/test/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const gateway = process.env.WXLOGIN_GATEWAY_URL;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshot = process.env.PLAYGROUND_SCREENSHOT || '.cache/playground/screenshot.png';

let browser;
let page;
const pageErrors = [];

before(async () => {
  assert.ok(gateway, 'WXLOGIN_GATEWAY_URL is not set: run through scripts/dev.sh --run (make test does)');
  const { chromium } = await import(process.env.PLAYWRIGHT_CORE || 'playwright-core');
  // Flags for a machine with no route out: nothing in the background may try the network.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(gateway + '/playground/');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  // The sandbox's faults are global: start from none.
  await tap('clear-faults');
});

after(async () => {
  if (page) {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  if (browser) await browser.close();
});

let done = 0;
/** Clicks the button of `action` and returns what the page shows it returned or threw. */
async function tap(action) {
  done += 1;
  await page.click(`button[data-action="${action}"]`);
  await page.waitForSelector(`#result[data-seq="${done}"]`, { timeout: 30_000 });
  return JSON.parse(await page.textContent('#result'));
}

/** The rows of the request log, newest first. */
async function requests() {
  return page.$$eval('#requests tr', (rows) => rows.map((row) => {
    const [method, path, status, error, requestId, ms] = [...row.cells].map((cell) => cell.textContent);
    return { method, path, status, error, requestId, ms: Number(ms) };
  }));
}

test('by keyboard alone, and in a phone-sized window', async () => {
  // Tab to a button and press Enter: no mouse.
  await page.focus('button[data-action="new-user"]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'wechat-revoke-phone',
    'the next control in reading order: the WeChat pushes\' first button');
  await page.focus('button[data-action="login"]');
  done += 1;
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#result[data-seq="${done}"]`, { timeout: 30_000 });
  assert.equal(JSON.parse(await page.textContent('#result')).action, 'login');

  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375px`);
  await page.setViewportSize({ width: 1280, height: 1000 });
  assert.deepEqual(pageErrors.map(String), [], 'no uncaught error in the page');
});

test('a mini-program session, tap by tap, shows both sides', async () => {
  await tap('new-user');
  const login = await tap('login');
  assert.equal(login.threw, undefined, JSON.stringify(login));
  assert.equal(login.returned.new_user, true);
  assert.match(login.returned.token, /^[A-Za-z0-9_-]{3}…[A-Za-z0-9_-]{3}$/, 'the token is shown masked');
  assert.match(await page.textContent('#who'), /logged in: openid/);
  const [onlogin] = await requests();
  assert.deepEqual([onlogin.method, onlogin.path, onlogin.status], ['POST', '/onlogin', '200']);
  assert.match(onlogin.requestId, /^[0-9a-f-]{16,}/, 'the log shows the x-request-id');

  const phone = await tap('phone-allow');
  assert.equal(phone.returned.purePhoneNumber, '13800138000', JSON.stringify(phone));
  await page.waitForFunction(() => document.querySelector('#items').textContent.includes('phone_verified_by'));
  const items = JSON.parse(await page.textContent('#items'));
  assert.equal(items.users.length, 1, 'the user item is shown');
  assert.equal(items.users[0].phone_verified_by, 'code');
  assert.ok(items.sessions.length >= 1, 'the session item is shown');
  const maskedShape = /^.{3}….{3}$/;
  for (const session of items.sessions) assert.match(session.session_key, maskedShape, 'the session_key is masked');
  for (const token of items.access_tokens) assert.match(token.access_token, maskedShape, 'the access token is masked');
  assert.equal(items.users[0].pure_phone_number, '138…000', 'the number is masked too');

  const denied = await tap('phone-deny');
  assert.equal(denied.threw.code, 'user_denied', JSON.stringify(denied));
  const who = await tap('whoami');
  assert.equal(who.returned.phone.purePhoneNumber, '13800138000', JSON.stringify(who));
  const checked = await tap('check');
  assert.equal(checked.returned.openid, login.returned.openid, JSON.stringify(checked));

  const me = await tap('me');
  assert.equal(me.returned.phoneNumber, '13800138000', JSON.stringify(me));
  assert.equal(me.returned.openid, login.returned.openid);

  const realtime = await tap('phone-realtime');
  assert.equal(realtime.returned.purePhoneNumber, '13800138000', JSON.stringify(realtime));
  const rechecked = await tap('whoami');
  assert.equal(rechecked.returned.phone_verified_by, 'realtime', JSON.stringify(rechecked));
  const empty = await tap('phone-pack-empty');
  assert.equal(empty.threw.code, 'phone_pack_empty', JSON.stringify(empty));

  await page.selectOption('#fault-api', 'getuserphonenumber');
  await page.selectOption('#fault-kind', '45011');
  await tap('arm');
  const limited = await tap('phone-allow');
  assert.equal(limited.threw.code, 'rate_limited', JSON.stringify(limited));
  assert.equal(limited.threw.status, 429);
  const [refusal] = await requests();
  assert.deepEqual([refusal.path, refusal.status, refusal.error], ['/decrypt-phone', '429', 'rate_limited']);

  const elsewhere = await tap('elsewhere');
  assert.equal(elsewhere.returned.other_device.status, 200, JSON.stringify(elsewhere));
  const stale = await tap('phone-allow-legacy');
  assert.equal(stale.threw.code, 'session_key_mismatch', JSON.stringify(stale));
  assert.equal(stale.threw.retry, 'tap_again');
  await page.waitForSelector('#toast.shown');
  assert.equal(await page.textContent('#toast'), '请再点一次获取手机号');
  const again = await tap('phone-allow-legacy');
  assert.equal(again.returned.purePhoneNumber, '13800138000', JSON.stringify(again));

  const oldToken = await page.evaluate(() => JSON.parse(localStorage.getItem('playground.wx.wxlogin.token')).token);
  const everywhere = await tap('logout-everywhere');
  assert.ok(everywhere.returned.sessions_ended >= 2, JSON.stringify(everywhere));
  const refused = await page.evaluate(async (token) => {
    const headers = { authorization: 'Bearer ' + token };
    const session = await fetch('/session', { headers });
    const me = await fetch('/me', { headers });
    return { session: session.status, me: me.status };
  }, oldToken);
  assert.deepEqual(refused, { session: 401, me: 403 }, 'the old token, by our route and by the authorizer');

  assert.deepEqual(pageErrors.map(String), [], 'no uncaught error in the page');
});

test('注销账号 and WeChat\'s pushes erase the user, and the items vanish', async () => {
  /** The items panel once `condition` (an expression over `items`) holds of it. */
  async function itemsWhen(condition) {
    await page.waitForFunction((condition) => {
      try {
        const items = JSON.parse(document.querySelector('#items').textContent);
        return Function('items', `return (${condition});`)(items);
      } catch { return false; }
    }, condition, { timeout: 10_000 });
    return JSON.parse(await page.textContent('#items'));
  }

  await tap('new-user');
  assert.equal((await tap('login')).returned.new_user, true);
  await tap('phone-allow');
  const data = await tap('my-data');
  assert.equal(data.returned.phone.verified_by, 'code', JSON.stringify(data));
  assert.equal(data.returned.sessions.length, 1);
  await itemsWhen('items.users.length === 1 && items.sessions.length === 1');

  const cancelled = await tap('delete-account');
  assert.equal(cancelled.returned.sessions_ended, 1, JSON.stringify(cancelled));
  let items = await itemsWhen('items.users.length === 0 && items.sessions.length === 0');
  assert.ok(items.erasures.some((record) => record.reason === 'user'), 'an audit record stays');
  assert.ok(items.erasures.every((record) => !JSON.stringify(record).includes('1380')), 'naming no one');
  assert.equal(await page.textContent('#who'), 'not logged in (WeChat user ' + data.returned.openid + ')');

  const again = await tap('login');
  assert.equal(again.returned.new_user, true, 'a login after cancelling is a new user');
  await tap('phone-allow');
  await itemsWhen("items.users.length === 1 && items.users[0].phone_verified_by === 'code'");
  const revoked = await tap('wechat-revoke-phone');
  assert.equal(revoked.returned.attempts, 1, JSON.stringify(revoked));
  items = await itemsWhen("items.users.length === 1 && !('phone_verified_by' in items.users[0])");
  assert.equal(items.sessions.length, 1, 'the user and their session stay');
  assert.equal((await tap('whoami')).returned.phone, undefined);

  await tap('wechat-cancel');
  items = await itemsWhen('items.users.length === 0 && items.sessions.length === 0');
  assert.ok(items.erasures.some((record) => record.reason === 'wechat_cancellation'));
  const [push] = await requests();
  assert.ok(push, 'the log still lists the requests');
  assert.deepEqual(pageErrors.map(String), [], 'no uncaught error in the page');
});

test('the access token (JWT): decoded, checked against the JWKS, cached, dropped at logout', async () => {
  const tokenRows = async () => (await requests()).filter((row) => row.path === '/token');
  await tap('new-user');
  const login = await tap('login');
  const first = await tap('access-token');
  assert.equal(first.threw, undefined, JSON.stringify(first));
  const shown = first.returned;
  assert.equal(shown.from, 'POST /token');
  assert.match(shown.access_token, /^[A-Za-z0-9_-]{3}…[A-Za-z0-9_-]{3}$/, 'the JWT is shown masked');
  assert.deepEqual([shown.header.alg, shown.header.typ], ['RS256', 'JWT']);
  assert.equal(shown.claims.sub, login.returned.openid);
  assert.equal(shown.claims.aud, login.returned.appid);
  assert.equal(shown.claims.appid, login.returned.appid);
  const early = shown.claims.exp - shown.claims.iat - shown.expires_in;
  assert.ok(early >= 0 && early <= 5, `expires_in ${shown.expires_in} is exp - iat, iat set at most 5 s early`);
  assert.equal(shown.verified_here.signature, 'valid', JSON.stringify(shown.verified_here));
  assert.equal(shown.verified_here.iss_matches, true, JSON.stringify(shown.verified_here));
  assert.match(shown.note, /openid-configuration/);
  assert.match(await page.textContent('#miniprogram'), /\/\.well-known\/openid-configuration/, 'the page says how backends verify it');
  const [row] = await tokenRows();
  assert.deepEqual([row.method, row.status, row.error], ['POST', '200', '']);

  const again = await tap('access-token');
  assert.equal(again.returned.claims.jti, shown.claims.jti, 'the same JWT, from memory');
  assert.match(again.returned.from, /^memory/);
  assert.equal((await tokenRows()).length, 1, 'no second POST /token');

  await tap('logout');
  const after = await tap('access-token');
  assert.notEqual(after.returned.claims.jti, shown.claims.jti, 'logout dropped it');
  assert.equal(after.returned.from, 'POST /token');
  const [newest, previous] = await requests();
  assert.deepEqual([previous.path, newest.path], ['/onlogin', '/token'], 'logged in again, then asked');
  assert.deepEqual(pageErrors.map(String), [], 'no uncaught error in the page');
});
