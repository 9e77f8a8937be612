// A hostile web page open in the developer's browser while `make dev` runs must get nothing
// from the local stack: nothing readable, nothing changed. The page is served by a second
// HTTP server of this test, as `http://evil.test:<port>/` — Chromium resolves evil.test to
// 127.0.0.1 (--host-resolver-rules), so its origin is another site's, and a page of
// evil.test on the stack's own ports plays DNS rebinding. From there it tries fetch() GET
// and POST (JSON and text/plain) and form posts against the gateway, the sandbox, DynamoDB
// Local and cargo lambda watch; then this test checks, from outside the browser, that no
// sandbox user was made, that the login code it tried is still unspent, and that no table
// was created.
//   WXLOGIN_GATEWAY_URL WXLOGIN_SANDBOX_URL WXLOGIN_LAMBDA_URL WXLOGIN_DYNAMODB_URL
//   PLAYWRIGHT_CORE=<path to playwright-core> node --test playground/test/
// (scripts/dev.sh --run exports the URLs; make test runs it.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const stack = {
  gateway: process.env.WXLOGIN_GATEWAY_URL,
  sandbox: process.env.WXLOGIN_SANDBOX_URL,
  lambda: process.env.WXLOGIN_LAMBDA_URL,
  dynamodb: process.env.WXLOGIN_DYNAMODB_URL,
};
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const EVIL = 'evil.test';

let browser;
let page;
let hostile;
let hostileOrigin;

const port = (url) => new URL(url).port;
/** The same service under the hostile name: what a page that rebound its DNS name sees. */
const rebound = (url) => `http://${EVIL}:${port(url)}`;
const unique = (label) => `o_hostile_${label}_${randomBytes(6).toString('hex')}`;

before(async () => {
  const unset = Object.entries(stack).filter(([, url]) => !url).map(([name]) => name);
  assert.deepEqual(unset, [], 'the stack URLs are not set: run through scripts/dev.sh --run (make test does)');
  hostile = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>a page elsewhere</title><p>nothing to see</p>');
  });
  await new Promise((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  hostileOrigin = `http://${EVIL}:${hostile.address().port}`;
  const { chromium } = await import(process.env.PLAYWRIGHT_CORE || 'playwright-core');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--host-resolver-rules=MAP ${EVIL} 127.0.0.1`],
  });
  page = await browser.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (hostile) hostile.close();
});

/** POST `body` as JSON from outside the browser: the status and the answer. */
async function trustedPost(url, body) {
  const response = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** Whether the sandbox knows `openid` (it plays the phone button only for known users). */
async function sandboxKnows(openid) {
  const { status, body } = await trustedPost(stack.sandbox + '/sandbox/phone', { openid, phoneNumber: '13800138000' });
  assert.ok(status === 200 || status === 404, `/sandbox/phone answered ${status}: ${JSON.stringify(body)}`);
  return status === 200;
}

/** A fresh wx.login code, minted from outside the browser. */
async function freshCode() {
  const { status, body } = await trustedPost(stack.sandbox + '/sandbox/login', {});
  assert.equal(status, 200, JSON.stringify(body));
  return { code: body.code, appid: body.appid };
}

/** The code logs in (through the gateway): the hostile page did not spend it. */
async function assertUnspent({ code, appid }) {
  const { status, body } = await trustedPost(stack.gateway + '/onlogin', { code, appid });
  assert.equal(status, 200, `the code was spent by the hostile page: ${JSON.stringify(body)}`);
  assert.equal(body.new_user, true);
}

/** DynamoDB Local's table names, asked with node:http (Node's fetch refuses its port too). */
function dynamodbTables() {
  return new Promise((resolve, reject) => {
    const request = http.request(stack.dynamodb, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
      },
    }, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => {
        try { resolve(JSON.parse(text).TableNames); } catch (error) { reject(new Error(`${response.statusCode}: ${text}`)); }
      });
    });
    request.on('error', reject);
    request.end('{}');
  });
}

/**
 * In the page: each fetch as `{label, url, init}`, answered `blocked: <error>` (refused by the
 * browser: CORS, a failed preflight, an unsafe port), `opaque` (sent, answer unreadable),
 * `read <status> <body>` (readable: what must never happen across origins), or `no answer`
 * (it reached a server that kept it waiting: watch's Runtime API hands the next invocation,
 * token and all, to whoever asks).
 */
function fetchAll(attempts) {
  return page.evaluate(async (attempts) => {
    const outcomes = {};
    for (const { label, url, init } of attempts) {
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
        outcomes[label] = response.type === 'opaque' ? 'opaque'
          : `read ${response.status} ${(await response.text()).slice(0, 200)}`;
      } catch (error) {
        outcomes[label] = error.name === 'TimeoutError' ? 'no answer' : `blocked: ${error.name}`;
      }
    }
    return outcomes;
  }, attempts);
}

/** In the page: a form post of `fields` (name → value) to `url`, into an iframe. */
function formPost(url, enctype, fields) {
  return page.evaluate(({ url, enctype, fields }) => new Promise((resolve) => {
    const name = 'sink' + Math.random().toString(36).slice(2);
    const frame = Object.assign(document.createElement('iframe'), { name });
    const form = Object.assign(document.createElement('form'), { method: 'POST', action: url, enctype, target: name });
    for (const [key, value] of Object.entries(fields)) {
      form.append(Object.assign(document.createElement('input'), { type: 'hidden', name: key, value }));
    }
    document.body.append(frame, form);
    const timer = setTimeout(() => resolve('no load'), 10_000);
    frame.addEventListener('load', () => { clearTimeout(timer); resolve('loaded'); }, { once: true });
    form.submit();
  }), { url, enctype, fields });
}

/** The text/plain form trick: `{"openid":"…","pad":"` `=` `"}` is one JSON object. */
const jsonForm = (object) => {
  const text = JSON.stringify({ ...object, pad: '' });
  return { [text.slice(0, -2)]: '"}' };
};

const jsonPost = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const plainPost = (body) => ({ method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) });
const dynamodbCall = (target, body, mode = 'cors') => ({
  method: 'POST',
  mode,
  headers: mode === 'cors'
    ? { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${target}`, authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00' }
    : { 'content-type': 'text/plain' },
  body: JSON.stringify(body),
});
const createTable = (name) => ({
  TableName: name,
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
});

test('a page of another site reads nothing from the stack', async () => {
  await page.goto(hostileOrigin + '/');
  const outcomes = await fetchAll([
    { label: 'gateway items', url: stack.gateway + '/playground/items', init: {} },
    { label: 'gateway session', url: stack.gateway + '/session', init: {} },
    { label: 'gateway page', url: stack.gateway + '/playground/', init: {} },
    { label: 'sandbox stats', url: stack.sandbox + '/sandbox/stats', init: {} },
    { label: 'gateway sandbox stats', url: stack.gateway + '/sandbox/stats', init: {} },
    { label: 'dynamodb tables', url: stack.dynamodb + '/', init: dynamodbCall('ListTables', {}) },
    { label: 'dynamodb scan', url: stack.dynamodb + '/', init: dynamodbCall('Scan', { TableName: 'wxlogin-sessions' }) },
    { label: 'watch session', url: stack.lambda + '/session', init: {} },
    { label: 'watch invoke me', url: stack.lambda + '/2015-03-31/functions/me/invocations', init: jsonPost({}) },
    { label: 'watch runtime', url: stack.lambda + '/.rt/2018-06-01/runtime/invocation/next', init: {} },
  ]);
  for (const [label, outcome] of Object.entries(outcomes)) {
    assert.match(outcome, /^blocked/, `${label}: ${outcome}`);
  }
});

test('a page of another site changes nothing: fetch and form posts are refused', async () => {
  await page.goto(hostileOrigin + '/');
  const login = await freshCode();
  const users = Object.fromEntries(
    ['sandboxPlain', 'sandboxJson', 'gatewayPlain', 'gatewayJson', 'sandboxForm', 'gatewayForm', 'watch']
      .map((label) => [label, unique(label)]));
  const tables = { cors: `hostile-${randomBytes(4).toString('hex')}`, plain: `hostile-${randomBytes(4).toString('hex')}` };

  const outcomes = await fetchAll([
    { label: 'sandbox login, text/plain', url: stack.sandbox + '/sandbox/login', init: plainPost({ openid: users.sandboxPlain }) },
    { label: 'sandbox login, JSON', url: stack.sandbox + '/sandbox/login', init: jsonPost({ openid: users.sandboxJson }) },
    { label: 'sandbox new day, no body', url: stack.sandbox + '/sandbox/token-day', init: { method: 'POST', mode: 'no-cors' } },
    { label: 'gateway sandbox login, text/plain', url: stack.gateway + '/sandbox/login', init: plainPost({ openid: users.gatewayPlain }) },
    { label: 'gateway sandbox login, JSON', url: stack.gateway + '/sandbox/login', init: jsonPost({ openid: users.gatewayJson }) },
    { label: 'gateway onlogin, text/plain', url: stack.gateway + '/onlogin', init: plainPost(login) },
    { label: 'gateway onlogin, JSON', url: stack.gateway + '/onlogin', init: jsonPost(login) },
    { label: 'gateway logout everywhere', url: stack.gateway + '/session?all=true', init: { method: 'DELETE' } },
    { label: 'dynamodb create, signed', url: stack.dynamodb + '/', init: dynamodbCall('CreateTable', createTable(tables.cors)) },
    { label: 'dynamodb create, text/plain', url: stack.dynamodb + '/', init: dynamodbCall('CreateTable', createTable(tables.plain), 'no-cors') },
    { label: 'watch onlogin, text/plain', url: stack.lambda + '/onlogin', init: plainPost(login) },
    { label: 'watch sandbox via invoke', url: stack.lambda + '/2015-03-31/functions/onlogin/invocations', init: plainPost({ body: JSON.stringify(login) }) },
  ]);
  // What a page may send without a preflight leaves the browser, unreadable; the rest
  // fails its preflight (nothing here answers CORS); nothing reaches watch or DynamoDB Local.
  for (const [label, outcome] of Object.entries(outcomes)) {
    if (/text\/plain|no body/.test(label) && !/^(watch|dynamodb)/.test(label)) {
      assert.equal(outcome, 'opaque', `${label}: ${outcome}`);
    } else if (label === 'dynamodb create, text/plain') {
      assert.match(outcome, /^blocked|^opaque$/, `${label}: ${outcome}`);
    } else {
      assert.match(outcome, /^blocked/, `${label}: ${outcome}`);
    }
  }
  const forms = {
    sandbox: await formPost(stack.sandbox + '/sandbox/login', 'text/plain', jsonForm({ openid: users.sandboxForm })),
    gatewaySandbox: await formPost(stack.gateway + '/sandbox/login', 'text/plain', jsonForm({ openid: users.gatewayForm })),
    gatewayLogin: await formPost(stack.gateway + '/onlogin', 'text/plain', jsonForm(login)),
    urlencoded: await formPost(stack.gateway + '/onlogin', 'application/x-www-form-urlencoded', { code: login.code }),
    dynamodb: await formPost(stack.dynamodb + '/', 'text/plain', jsonForm(createTable(tables.plain))),
  };
  for (const label of ['sandbox', 'gatewaySandbox', 'gatewayLogin', 'urlencoded']) {
    assert.equal(forms[label], 'loaded', `the ${label} form was posted (and refused)`);
  }

  for (const [label, openid] of Object.entries(users)) {
    assert.equal(await sandboxKnows(openid), false, `${label}: the hostile page made a sandbox user`);
  }
  const names = await dynamodbTables();
  assert.ok(!names.includes(tables.cors) && !names.includes(tables.plain), `a table was created: ${names}`);
  await assertUnspent(login);
});

test('a page that rebinds its DNS name to 127.0.0.1 is refused by name', async () => {
  const login = await freshCode();
  const users = { gateway: unique('rebound_gateway'), sandbox: unique('rebound_sandbox') };

  // The gateway, as evil.test: every path is 421, the page gets only the refusal.
  const landing = await page.goto(rebound(stack.gateway) + '/playground/');
  assert.equal(landing.status(), 421);
  const viaGateway = await page.evaluate(async ({ login, openid }) => {
    const answers = {};
    const calls = {
      items: ['/playground/items', {}],
      session: ['/session', {}],
      login: ['/onlogin', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(login) }],
      sandbox: ['/sandbox/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) }],
      invoke: ['/2015-03-31/functions/me/invocations', { method: 'POST', body: '{}' }],
    };
    for (const [label, [path, init]] of Object.entries(calls)) {
      const response = await fetch(path, init);
      answers[label] = { status: response.status, body: await response.json().catch(() => null) };
    }
    return answers;
  }, { login, openid: users.gateway });
  for (const [label, answer] of Object.entries(viaGateway)) {
    assert.equal(answer.status, 421, `${label}: ${JSON.stringify(answer)}`);
    assert.equal(answer.body.error, 'host_not_allowed', `${label}: ${JSON.stringify(answer)}`);
  }

  // The sandbox, as evil.test: the same.
  const sandboxLanding = await page.goto(rebound(stack.sandbox) + '/sandbox/stats');
  assert.equal(sandboxLanding.status(), 421);
  const viaSandbox = await page.evaluate(async (openid) => {
    const response = await fetch('/sandbox/login', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }),
    });
    return { status: response.status, body: await response.json() };
  }, users.sandbox);
  assert.equal(viaSandbox.status, 421, JSON.stringify(viaSandbox));

  // Watch and DynamoDB Local check no Host: their ports are ones no browser loads.
  for (const url of [stack.lambda + '/session', stack.dynamodb + '/']) {
    await assert.rejects(page.goto(rebound(url) + new URL(url).pathname), /ERR_UNSAFE_PORT/, url);
  }

  for (const [label, openid] of Object.entries(users)) {
    assert.equal(await sandboxKnows(openid), false, `${label}: the rebound page made a sandbox user`);
  }
  await assertUnspent(login);
});
