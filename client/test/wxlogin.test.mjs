// The client against the real local stack (DynamoDB Local + WeChat sandbox + functions).
// Sandbox faults are global and `node --test` runs files in parallel: a test that sets one
// holds the sandbox lock (test-support/sandbox-lock.mjs) while it does, as the other files
// that log users in hold it while they run.
//   WXLOGIN_API_URL=http://127.0.0.1:9200 WXLOGIN_SANDBOX_URL=http://127.0.0.1:9100 node --test client/test/

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, verify } from 'node:crypto';

import { createClient, WxLoginError, TAP_AGAIN_TEXT } from '../wxlogin.js';
import { createFakeWx, sandboxPost, stackFromEnv } from '../test-support/fake-wx.mjs';
import { withSandboxLock } from '../test-support/sandbox-lock.mjs';

const stack = stackFromEnv();
if (stack.missing) {
  test('the local stack is configured', () => assert.fail(stack.missing));
} else {
  liveTests(stack);
}

function liveTests({ apiUrl, sandboxUrl }) {
  const PHONE = { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' };
  const KEY = 'wxlogin.token';

  /**
   * A fake user with a client; `tapAgain` records onTapAgain calls unless options override.
   * `openid` makes it another device of an existing user.
   */
  function setup({ openid, ...options } = {}) {
    const wx = createFakeWx({ sandboxUrl, openid });
    const tapAgain = [];
    const client = createClient({ baseUrl: apiUrl, wx, onTapAgain: (err) => tapAgain.push(err), ...options });
    return { wx, client, tapAgain };
  }

  /** Asserts the server refuses `token` now (401 invalid_token on GET /session). */
  async function assertDead(token, what = 'the token') {
    const after = await sessionWith(token);
    assert.deepEqual([after.status, after.body.error], [401, 'invalid_token'], `${what} should be refused`);
  }

  /** The getPhoneNumber event the button would give this user now (current session_key). */
  async function phoneEvent(wx, { legacy = false } = {}) {
    const data = await sandboxPost(sandboxUrl, '/sandbox/phone', { openid: wx.openid, phoneNumber: PHONE.phoneNumber });
    const detail = { errMsg: 'getPhoneNumber:ok', encryptedData: data.encryptedData, iv: data.iv };
    if (!legacy) detail.code = data.code;
    return { type: 'getphonenumber', detail };
  }

  /** WeChat rotates this user's session_key (what a later wx.login may do). */
  const rotateKey = (openid) =>
    sandboxPost(sandboxUrl, '/sandbox/login', { openid, session_key: randomBytes(16).toString('base64') });

  /** GET /session with a raw token, outside the client. */
  async function sessionWith(token) {
    const res = await fetch(apiUrl + '/session', { headers: { authorization: 'Bearer ' + token } });
    return { status: res.status, body: await res.json() };
  }

  /** Asserts `promise` rejects with a WxLoginError matching `expected`; returns it. */
  async function rejection(promise, expected) {
    let error;
    await assert.rejects(promise, (err) => { error = err; return true; });
    assert.ok(error instanceof WxLoginError, `expected a WxLoginError, got ${error}`);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(error[key], value, `error.${key} (error: ${error.code} ${error.status} ${error.message})`);
    }
    return error;
  }

  const paths = (wx) => wx.requests.map((r) => `${r.method} ${r.url.slice(apiUrl.length)}`);
  const stored = (wx) => wx.storage.get(KEY);

  before(async () => {
    const hint = 'is the stack running? (make dev, or scripts/dev.sh)';
    const sandbox = await fetch(sandboxUrl + '/sandbox/stats', { signal: AbortSignal.timeout(10_000) }).catch((e) => e);
    assert.ok(sandbox.ok, `WeChat sandbox at WXLOGIN_SANDBOX_URL=${sandboxUrl} unreachable (${sandbox.message || sandbox.status}); ${hint}`);
    // cargo lambda watch compiles a function on its first request and after every change.
    const api = await fetch(apiUrl + '/onlogin', { method: 'POST', body: '{}', signal: AbortSignal.timeout(180_000) }).catch((e) => e);
    assert.equal(api.status, 400, `POST ${apiUrl}/onlogin should answer 400 to {} (got ${api.message || api.status}); ${hint}`);
  }, { timeout: 200_000 });

  describe('login()', () => {
    test('stores a token the server accepts and returns the openid', async () => {
      const { wx, client } = setup();
      const answer = await client.login();
      assert.equal(answer.openid, wx.openid);
      assert.equal(typeof answer.expires_in, 'number');
      assert.equal(client.getToken(), answer.token);
      assert.equal(stored(wx).token, answer.token);
      assert.ok(stored(wx).expiresAt > Date.now());
      assert.deepEqual(paths(wx), ['POST /onlogin']);
      assert.equal(wx.calls.login, 1);
      const session = await sessionWith(answer.token);
      assert.equal(session.status, 200);
      assert.equal(session.body.openid, wx.openid);
    });

    test('sends its appid when configured with one (a stack serving several apps needs it)', async () => {
      const plain = setup();
      const { appid } = await plain.client.login();
      assert.match(appid, /^wx/, 'the answer names the app');
      assert.equal(plain.wx.requests[0].data.appid, undefined, 'no appid unless configured');
      assert.equal(stored(plain.wx).appid, appid);

      const named = setup({ appid });
      const answer = await named.client.login();
      assert.equal(named.wx.requests[0].data.appid, appid);
      assert.equal(answer.appid, appid);

      const foreign = setup({ appid: 'wxnotservedhere00' });
      await rejection(foreign.client.login(), { code: 'unknown_app', status: 400, stage: 'login' });
      assert.throws(() => createClient({ baseUrl: apiUrl, wx: foreign.wx, appid: 42 }), TypeError);
    });

    test('concurrent calls share one wx.login', async () => {
      const { wx, client } = setup();
      const answers = await Promise.all([client.login(), client.login(), client.login()]);
      assert.equal(wx.calls.login, 1);
      assert.equal(new Set(answers.map((a) => a.token)).size, 1);
    });

    test('a wx.login failure rejects with wx_login_failed and sends nothing', async () => {
      const { wx, client } = setup();
      wx.hooks.loginFails = true;
      await rejection(client.login(), { code: 'wx_login_failed', status: 0, stage: 'login' });
      assert.equal(wx.calls.request, 0);
      assert.equal(client.getToken(), null);
    });

    test('an /onlogin error surfaces with the server code, status and request id', async () => {
      const { wx, client } = setup();
      wx.hooks.loginCode = () => 'not-a-code-the-sandbox-issued';
      const err = await rejection(client.login(), { code: 'invalid_code', status: 401, stage: 'login' });
      assert.match(err.message, /wx\.login/);
      assert.match(err.requestId, /\S/);
      assert.equal(client.getToken(), null);
    });

    test('rate limiting (WeChat 45011) carries retryAfter from retry-after', async () => {
      const { wx, client } = setup();
      await withSandboxLock(sandboxUrl, async () => {
        await sandboxPost(sandboxUrl, '/sandbox/faults', { api: 'jscode2session', errcode: 45011, times: 1 });
        try {
          await rejection(client.login(), { code: 'rate_limited', status: 429, retryAfter: 60 });
        } finally {
          await sandboxPost(sandboxUrl, '/sandbox/faults', { api: 'jscode2session', times: 0 });
        }
      });
      assert.equal(client.getToken(), null);
      assert.equal((await client.login()).openid, wx.openid, 'the next login works');
    });

    test('new_user on the first login only; getSession() says so without a call', async () => {
      const { wx, client } = setup();
      assert.equal(client.getSession(), null);
      const first = await client.login();
      assert.equal(first.new_user, true);
      assert.equal(first.phone, undefined);
      const session = client.getSession();
      assert.deepEqual(session, { appid: first.appid, openid: wx.openid, newUser: true, expiresAt: stored(wx).expiresAt });
      const other = setup({ openid: wx.openid }); // the same user on another device
      assert.equal((await other.client.login()).new_user, false);
      assert.equal(other.client.getSession().newUser, false);
      assert.equal(wx.calls.request, 1, 'getSession() makes no call');
    });

    test('a login implied by request() is visible through getSession()', async () => {
      const { wx, client } = setup();
      await client.request({ url: '/session' });
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /session']);
      assert.equal(client.getSession().newUser, true);
      assert.equal(client.getSession().openid, wx.openid);
    });

    test('a verified number comes back with every later login, on any device', async () => {
      const { wx, client } = setup();
      await client.login();
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx)), PHONE);
      const other = setup({ openid: wx.openid });
      const answer = await other.client.login();
      assert.deepEqual(answer.phone, PHONE);
      assert.equal(answer.new_user, false);
      assert.deepEqual(other.client.getSession().phone, PHONE);
      assert.deepEqual((await other.client.request({ url: '/session' })).phone, PHONE);
    });

    test('an explicit login while holding a live token ends the old session in the background', async () => {
      const { wx, client } = setup();
      const old = (await client.login()).token;
      const answer = await client.login();
      assert.notEqual(answer.token, old);
      assert.equal(client.getToken(), answer.token);
      await wx.idle();
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /onlogin', 'DELETE /session']);
      assert.equal(wx.requests[2].header.authorization, 'Bearer ' + old);
      await assertDead(old, 'the replaced token');
      assert.equal((await sessionWith(answer.token)).status, 200);
    });

    test('that DELETE never blocks the login, and its failure never surfaces', async () => {
      const { wx, client } = setup();
      await client.login();
      // A slow DELETE: the login resolves while it is still under way.
      wx.hooks.responseDelay = (req) => (req.method === 'DELETE' ? 1500 : 0);
      const second = await client.login();
      assert.equal(wx.pending, 1, 'login() resolved while its DELETE is still under way');
      await wx.idle();
      // A DELETE that cannot reach the server: login() still resolves, nothing rejects.
      wx.hooks.responseDelay = null;
      wx.hooks.beforeRequest = (req) => { if (req.method === 'DELETE') req.url = 'http://127.0.0.1:9/session'; };
      const third = await client.login();
      await wx.idle();
      assert.equal(client.getToken(), third.token);
      assert.deepEqual(paths(wx).filter((p) => p.startsWith('DELETE')).length, 2);
      assert.equal((await sessionWith(second.token)).status, 200, 'that DELETE never arrived');
    });

    test('an unreachable server rejects with network_error', async () => {
      const wx = createFakeWx({ sandboxUrl });
      const client = createClient({ baseUrl: 'http://127.0.0.1:9', wx });
      const err = await rejection(client.login(), { code: 'network_error', status: 0 });
      assert.match(err.message, /^request:fail/);
    });
  });

  describe('request()', () => {
    test('logs in first when no token is stored', async () => {
      const { wx, client } = setup();
      const me = await client.request({ url: '/session' });
      assert.equal(me.openid, wx.openid);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /session']);
      assert.equal(wx.requests[1].header.authorization, 'Bearer ' + client.getToken());
    });

    test('a garbage stored token: one re-login, one retry, success', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      const me = await client.request({ url: '/session' });
      assert.equal(me.openid, wx.openid);
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(paths(wx), ['GET /session', 'POST /onlogin', 'GET /session']);
      assert.notEqual(client.getToken(), 'garbage-token');
    });

    test('a revoked token: one re-login, one retry, success', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      const revoked = await fetch(apiUrl + '/session', { method: 'DELETE', headers: { authorization: 'Bearer ' + token } });
      assert.equal(revoked.status, 200);
      const me = await client.request({ url: '/session' });
      assert.equal(me.openid, wx.openid);
      assert.equal(wx.calls.login, 2);
      assert.notEqual(client.getToken(), token);
    });

    test('a locally expired session logs in before sending anything', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      wx.setStorageSync(KEY, { ...stored(wx), expiresAt: Date.now() - 1000 });
      assert.equal(client.getToken(), null);
      await client.request({ url: '/session' });
      assert.equal(wx.calls.login, 2);
      assert.ok(wx.requests.every((r) => r.header.authorization !== 'Bearer ' + token || r.url.endsWith('/onlogin')));
    });

    test('when the re-login fails it rejects with the login error, without looping', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      wx.hooks.loginCode = () => 'rejected-by-the-sandbox';
      await rejection(client.request({ url: '/session' }), { code: 'invalid_code', status: 401, stage: 'login' });
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(paths(wx), ['GET /session', 'POST /onlogin']);
      assert.equal(client.getToken(), null);
    });

    test('a request that keeps getting 401: one re-login, one retry, then invalid_token', async () => {
      const { wx, client } = setup();
      await client.login();
      wx.hooks.beforeRequest = (req) => { if (req.url.endsWith('/session')) req.header.authorization = 'Bearer revoked'; };
      await rejection(client.request({ url: '/session' }), { code: 'invalid_token', status: 401, stage: 'request' });
      assert.equal(wx.calls.login, 2);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /session', 'POST /onlogin', 'GET /session']);
    });

    test('a token from this very call that gets 401 is not followed by a second login', async () => {
      const { wx, client } = setup();
      wx.hooks.beforeRequest = (req) => { if (req.url.endsWith('/session')) req.header.authorization = 'Bearer revoked'; };
      await rejection(client.request({ url: '/session' }), { code: 'invalid_token', status: 401 });
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /session']);
      assert.equal(client.getToken(), null, 'a token the server refused is not kept');
    });

    test('N concurrent requests with a bad token share exactly one re-login', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.request({ url: '/session' })));
      assert.ok(answers.every((a) => a.openid === wx.openid));
      assert.equal(wx.calls.login, 1);
      assert.equal(paths(wx).filter((p) => p === 'POST /onlogin').length, 1);
      assert.equal(paths(wx).filter((p) => p === 'GET /session').length, 16);
    });

    test('a 401 that arrives after the re-login finished reuses the new token', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      let first = true;
      wx.hooks.responseDelay = (req) => {
        if (!req.url.endsWith('/session') || req.header.authorization !== 'Bearer garbage-token') return 0;
        if (first) { first = false; return 0; }
        return 500; // the slow one answers 401 long after the re-login
      };
      const answers = await Promise.all([client.request({ url: '/session' }), client.request({ url: '/session' })]);
      assert.ok(answers.every((a) => a.openid === wx.openid));
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(paths(wx), ['GET /session', 'GET /session', 'POST /onlogin', 'GET /session', 'GET /session']);
    });

    test('N concurrent requests without a token share exactly one login', async () => {
      const { wx, client } = setup();
      await Promise.all(Array.from({ length: 5 }, () => client.request({ url: '/session' })));
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(paths(wx).slice(0, 1), ['POST /onlogin']);
    });

    test('GET data goes in the query string (GET /session?check=wechat)', async () => {
      const { wx, client } = setup();
      const me = await client.request({ url: '/session', data: { check: 'wechat' } });
      assert.equal(me.openid, wx.openid);
      assert.equal(typeof me.expires_in, 'number');
      assert.equal(wx.requests.at(-1).url, apiUrl + '/session?check=wechat');
    });

    test('GET /session?check=wechat after a key rotation → 422 session_key_mismatch', async () => {
      const { wx, client } = setup();
      await client.login();
      await rotateKey(wx.openid);
      await rejection(client.request({ url: '/session?check=wechat' }), { code: 'session_key_mismatch', status: 422 });
      assert.equal(wx.calls.login, 1, 'request() does not re-login on 422');
    });

    test('server errors surface as WxLoginError with the server code, message and status', async () => {
      const { client } = setup();
      const bad = await rejection(client.request({ url: '/decrypt-phone', method: 'POST', data: {} }),
        { code: 'invalid_request', status: 400, stage: 'request' });
      assert.ok(bad.message.length > 0 && !/^HTTP/.test(bad.message));
      await rejection(client.request({ url: '/onlogin' }), { code: 'method_not_allowed', status: 405 });
    });

    test('extra headers pass through; a caller\'s Authorization never doubles ours', async () => {
      const { wx, client } = setup();
      await client.request({ url: '/session', header: { 'X-Trace': 't1', Authorization: 'Bearer other' } });
      const sent = wx.requests.at(-1).header;
      assert.deepEqual(sent, { 'X-Trace': 't1', authorization: 'Bearer ' + client.getToken() });
    });

    test('auth: false sends no token and never logs in', async () => {
      const { wx, client } = setup();
      await rejection(client.request({ url: '/session', auth: false }), { code: 'invalid_token', status: 401 });
      assert.equal(wx.calls.login, 0);
      assert.equal(wx.requests[0].header.authorization, undefined);
    });

    test('a url that is not a path is refused before any network call', async () => {
      const { wx, client } = setup();
      await assert.rejects(client.request({ url: 'https://elsewhere.example/steal' }), TypeError);
      assert.equal(wx.calls.request + wx.calls.login, 0);
    });

    test('API Gateway\'s own answers (not our error shape): 429 is rate_limited, others http_error', async () => {
      // Stage throttling and gateway failures come from API Gateway, before any function.
      const gateway = (statusCode, message) => ({
        request: (o) => setImmediate(o.success, { statusCode, data: { message }, header: { 'Retry-After': '1' } }),
        getStorageSync: () => '', setStorageSync() {}, removeStorageSync() {}, login() {}, showToast() {},
      });
      const throttled = createClient({ baseUrl: apiUrl, wx: gateway(429, 'Too Many Requests') });
      await rejection(throttled.request({ url: '/session', auth: false }),
        { code: 'rate_limited', status: 429, retryAfter: 1, message: 'Too Many Requests' });
      const failing = createClient({ baseUrl: apiUrl, wx: gateway(503, 'Service Unavailable') });
      await rejection(failing.request({ url: '/session', auth: false }), { code: 'http_error', status: 503 });
    });
  });

  describe('getPhoneNumber()', () => {
    test('current form: sends only detail.code and resolves with the number', async () => {
      const { wx, client } = setup();
      await client.login();
      const event = await phoneEvent(wx);
      assert.deepEqual(await client.getPhoneNumber(event), PHONE);
      assert.deepEqual(wx.requests.at(-1).data, { code: event.detail.code });
    });

    test('legacy form (no code): sends encryptedData + iv and resolves with the number', async () => {
      const { wx, client } = setup();
      await client.login();
      const event = await phoneEvent(wx, { legacy: true });
      assert.deepEqual(await client.getPhoneNumber(event), PHONE);
      assert.deepEqual(wx.requests.at(-1).data, { encryptedData: event.detail.encryptedData, iv: event.detail.iv });
    });

    test('accepts the event\'s detail alone', async () => {
      const { wx, client } = setup();
      await client.login();
      assert.deepEqual(await client.getPhoneNumber((await phoneEvent(wx)).detail), PHONE);
    });

    test('logs in first when no token is stored (current form)', async () => {
      const { wx, client } = setup();
      await sandboxPost(sandboxUrl, '/sandbox/login', { openid: wx.openid }); // the user exists
      const event = await phoneEvent(wx);
      assert.deepEqual(await client.getPhoneNumber(event), PHONE);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /decrypt-phone']);
    });

    test('user denied → user_denied, no network at all', async () => {
      const { wx, client } = setup();
      for (const errMsg of ['getPhoneNumber:fail user deny', 'getPhoneNumber:fail:user deny', 'getPhoneNumber:fail no permission']) {
        await rejection(client.getPhoneNumber({ detail: { errMsg } }), { code: 'user_denied', message: errMsg, status: 0 });
      }
      assert.equal(wx.calls.request, 0);
      assert.equal(wx.calls.login, 0);
    });

    test('an event without phone data → invalid_event, no network', async () => {
      const { wx, client } = setup();
      await rejection(client.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:ok' } }), { code: 'invalid_event' });
      assert.equal(wx.calls.request + wx.calls.login, 0);
    });

    test('key rotated (legacy form): 422 → re-login, onTapAgain once, the next tap works', async () => {
      const { wx, client, tapAgain } = setup();
      const { token } = await client.login();
      await rotateKey(wx.openid);
      const stale = await phoneEvent(wx, { legacy: true }); // under the new key; the server has the old one
      const err = await rejection(client.getPhoneNumber(stale), { code: 'session_key_mismatch', status: 422, retry: 'tap_again' });
      assert.equal(wx.calls.login, 2, 'logged in again');
      assert.notEqual(client.getToken(), token);
      assert.deepEqual(tapAgain, [err]);
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx, { legacy: true })), PHONE);
      assert.equal(tapAgain.length, 1);
      assert.equal(wx.calls.login, 2);
    });

    test('key rotated and the re-login fails: that error, no tap-again, no stale token kept', async () => {
      const { wx, client, tapAgain } = setup();
      await client.login();
      await rotateKey(wx.openid);
      wx.hooks.loginFails = true;
      await rejection(client.getPhoneNumber(await phoneEvent(wx, { legacy: true })), { code: 'wx_login_failed', stage: 'login' });
      assert.equal(tapAgain.length, 0);
      assert.equal(client.getToken(), null, 'the next call logs in first');
    });

    test('key rotated (current form): the code form does not depend on session_key', async () => {
      const { wx, client, tapAgain } = setup();
      await client.login();
      await rotateKey(wx.openid);
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx)), PHONE);
      assert.equal(tapAgain.length, 0);
    });

    test('a used phone code → 401 invalid_code, tap again, no re-login; a fresh tap works', async () => {
      const { wx, client, tapAgain } = setup();
      await client.login();
      const event = await phoneEvent(wx);
      assert.deepEqual(await client.getPhoneNumber(event), PHONE);
      const err = await rejection(client.getPhoneNumber(event), { code: 'invalid_code', status: 401, retry: 'tap_again', stage: 'request' });
      assert.deepEqual(tapAgain, [err]);
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx)), PHONE);
    });

    test('a failed login (its invalid_code) is not mistaken for a used phone code', async () => {
      const { wx, client, tapAgain } = setup();
      await sandboxPost(sandboxUrl, '/sandbox/login', { openid: wx.openid });
      wx.setStorageSync(KEY, 'garbage-token');
      wx.hooks.loginCode = () => 'rejected-by-the-sandbox';
      const err = await rejection(client.getPhoneNumber(await phoneEvent(wx)), { code: 'invalid_code', stage: 'login' });
      assert.equal(err.retry, undefined);
      assert.equal(tapAgain.length, 0);
    });

    test('the default onTapAgain shows a toast', async () => {
      const wx = createFakeWx({ sandboxUrl });
      const client = createClient({ baseUrl: apiUrl, wx });
      await client.login();
      const event = await phoneEvent(wx);
      await client.getPhoneNumber(event);
      await rejection(client.getPhoneNumber(event), { retry: 'tap_again' });
      assert.deepEqual(wx.toasts, [{ title: TAP_AGAIN_TEXT, icon: 'none' }]);
    });

    test('legacy data, then a login in the same call that rotates the key: one login, tap again', async () => {
      const { wx, client, tapAgain } = setup();
      await client.login();
      wx.setStorageSync(KEY, 'garbage-token'); // the session is gone: this call must log in
      const tapped = await phoneEvent(wx, { legacy: true }); // sealed with the current key
      wx.hooks.rotateKeyOnLogin = true; // real WeChat may hand out a new key at wx.login
      await rejection(client.getPhoneNumber(tapped), { code: 'session_key_mismatch', retry: 'tap_again' });
      assert.equal(wx.calls.login, 2, 'the call\'s own login holds the new key: no second one');
      assert.equal(tapAgain.length, 1);
      wx.hooks.rotateKeyOnLogin = false;
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx, { legacy: true })), PHONE);
      assert.equal(wx.calls.login, 2);
    });

    test('with a bad stored token it re-logs in once and still gets the number', async () => {
      const { wx, client } = setup();
      await sandboxPost(sandboxUrl, '/sandbox/login', { openid: wx.openid }); // the user exists
      wx.setStorageSync(KEY, 'garbage-token');
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx)), PHONE);
      assert.equal(wx.calls.login, 1);
    });
  });

  describe('getRealtimePhoneNumber()', () => {
    /**
     * setup(), with `tap()`: what the getRealtimePhoneNumber button gives this user now,
     * a real-time code from the sandbox, which the stack redeems as WeChat would.
     */
    function realtimeSetup() {
      const user = setup();
      user.tap = async () => {
        await sandboxPost(sandboxUrl, '/sandbox/login', { openid: user.wx.openid }); // the user exists
        const data = await sandboxPost(sandboxUrl, '/sandbox/phone',
          { openid: user.wx.openid, phoneNumber: PHONE.phoneNumber, realtime: true });
        return { type: 'getrealtimephonenumber', detail: { errMsg: 'getRealtimePhoneNumber:ok', code: data.code } };
      };
      return user;
    }

    test('sends {code, realtime: true}, resolves with the number and remembers it', async () => {
      const { wx, client, tap } = realtimeSetup();
      await client.login();
      const event = await tap();
      assert.deepEqual(await client.getRealtimePhoneNumber(event), PHONE);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /decrypt-phone']);
      assert.deepEqual(wx.requests.at(-1).data, { code: event.detail.code, realtime: true });
      assert.equal(wx.requests.at(-1).header.authorization, 'Bearer ' + client.getToken());
      assert.deepEqual(client.getSession().phone, PHONE);
      const session = await client.request({ url: '/session' });
      assert.equal(session.phone_verified_by, 'realtime', 'the server recorded how it was verified');
      assert.ok(Math.abs(session.phone_verified_at - Date.now() / 1000) < 60);
    });

    test('the real-time pack used up: the sandbox\'s button fails with errno 1400001 → phone_pack_empty', async () => {
      const { wx, client } = realtimeSetup();
      await client.login();
      const refused = await withSandboxLock(sandboxUrl, async () => {
        await sandboxPost(sandboxUrl, '/sandbox/charge', { pack: 'realtime', all: 5, used: 5 });
        try {
          const res = await fetch(sandboxUrl + '/sandbox/phone', {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ openid: wx.openid, phoneNumber: PHONE.phoneNumber, realtime: true }),
          });
          return await res.json();
        } finally {
          await sandboxPost(sandboxUrl, '/sandbox/charge', { pack: 'realtime', all: 1000, used: 0 });
        }
      });
      assert.equal(refused.errno, 1400001, JSON.stringify(refused));
      const event = { type: 'getrealtimephonenumber', detail: { errMsg: refused.errMsg, errno: refused.errno } };
      await rejection(client.getRealtimePhoneNumber(event), { code: 'phone_pack_empty', status: 0 });
      assert.deepEqual(paths(wx), ['POST /onlogin'], 'nothing sent for it');
    });

    test('accepts the event\'s detail alone, and logs in first when no token is stored', async () => {
      const { wx, client, tap } = realtimeSetup();
      assert.deepEqual(await client.getRealtimePhoneNumber((await tap()).detail), PHONE);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /decrypt-phone']);
    });

    test('with a bad stored token it re-logs in once and still gets the number', async () => {
      const { wx, client, tap } = realtimeSetup();
      wx.setStorageSync(KEY, 'garbage-token');
      assert.deepEqual(await client.getRealtimePhoneNumber(await tap()), PHONE);
      assert.deepEqual(paths(wx), ['POST /decrypt-phone', 'POST /onlogin', 'POST /decrypt-phone']);
      assert.equal(wx.calls.login, 1);
    });

    test('a used code → 401 invalid_code, tap again, no re-login; a fresh tap works', async () => {
      const { wx, client, tapAgain, tap } = realtimeSetup();
      await client.login();
      const event = await tap();
      assert.deepEqual(await client.getRealtimePhoneNumber(event), PHONE);
      const err = await rejection(client.getRealtimePhoneNumber(event),
        { code: 'invalid_code', status: 401, retry: 'tap_again', stage: 'request' });
      assert.deepEqual(tapAgain, [err]);
      assert.equal(wx.calls.login, 1);
      assert.deepEqual(await client.getRealtimePhoneNumber(await tap()), PHONE);
    });

    test('the user refused → user_denied, nothing sent, no toast', async () => {
      const { wx, client } = setup();
      for (const errMsg of ['getRealtimePhoneNumber:fail user deny', 'getRealtimePhoneNumber:fail:user deny']) {
        await rejection(client.getRealtimePhoneNumber({ type: 'getrealtimephonenumber', detail: { errMsg } }),
          { code: 'user_denied', message: errMsg, status: 0, retry: undefined });
      }
      assert.equal(wx.calls.request + wx.calls.login + wx.calls.showToast, 0);
    });

    test('no legacy form: encryptedData without a code → invalid_event, nothing sent', async () => {
      const { wx, client } = setup();
      await client.login();
      const legacy = await phoneEvent(wx, { legacy: true }); // data the legacy form would accept
      const err = await rejection(client.getRealtimePhoneNumber(legacy), { code: 'invalid_event', status: 0 });
      assert.match(err.message, /no legacy/);
      assert.match(err.message, /getPhoneNumber\(\)/, 'it names the method that takes that event');
      await rejection(client.getRealtimePhoneNumber({ detail: { errMsg: 'getRealtimePhoneNumber:ok' } }),
        { code: 'invalid_event' });
      assert.deepEqual(paths(wx), ['POST /onlogin'], 'no /decrypt-phone');
    });
  });

  describe('an empty phone-verification pack (errno 1400001)', () => {
    const buttons = [
      { method: 'getPhoneNumber', type: 'getphonenumber', pack: '手机号快速验证组件' },
      { method: 'getRealtimePhoneNumber', type: 'getrealtimephonenumber', pack: '手机号实时验证组件' },
    ];
    for (const { method, type, pack } of buttons) {
      test(`${method}() → phone_pack_empty (not user_denied), no request, no toast`, async () => {
        const wx = createFakeWx({ sandboxUrl });
        const client = createClient({ baseUrl: apiUrl, wx }); // the default onTapAgain: a toast
        const detail = { errMsg: `${method}:fail no quota`, errno: 1400001 };
        const err = await rejection(client[method]({ type, detail }),
          { code: 'phone_pack_empty', status: 0, stage: 'request', retry: undefined, cause: detail });
        assert.match(err.message, /1400001/);
        assert.match(err.message, /used up/);
        assert.ok(err.message.includes('mp.weixin.qq.com') && err.message.includes('付费管理'), err.message);
        assert.ok(err.message.includes(pack), `names the ${pack} pack: ${err.message}`);
        assert.ok(err.message.includes(detail.errMsg), 'keeps WeChat\'s errMsg');
        assert.equal(wx.calls.request + wx.calls.login + wx.calls.showToast, 0);
      });

      test(`${method}() with a session stored: the detail alone still sends nothing`, async () => {
        const { wx, client, tapAgain } = setup();
        await client.login();
        await rejection(client[method]({ errMsg: `${method}:fail`, errno: 1400001 }), { code: 'phone_pack_empty' });
        assert.deepEqual(paths(wx), ['POST /onlogin']);
        assert.equal(tapAgain.length, 0);
        assert.equal(client.getSession().phone, undefined);
      });
    }
  });

  describe('the privacy guide (用户隐私保护指引): errno 104 and 112', () => {
    const buttons = [
      { method: 'getPhoneNumber', type: 'getphonenumber' },
      { method: 'getRealtimePhoneNumber', type: 'getrealtimephonenumber' },
    ];
    for (const { method, type } of buttons) {
      test(`${method}() errno 104 (not agreed, or refused) → privacy_denied, nothing sent, no toast`, async () => {
        const wx = createFakeWx({ sandboxUrl });
        const client = createClient({ baseUrl: apiUrl, wx }); // the default onTapAgain: a toast
        const detail = { errMsg: `${method}:fail privacy permission is not authorized`, errno: 104 };
        const err = await rejection(client[method]({ type, detail }),
          { code: 'privacy_denied', status: 0, stage: 'request', retry: undefined, cause: detail });
        assert.match(err.message, /errno 104/);
        assert.ok(err.message.includes('用户隐私保护指引'), err.message);
        assert.ok(err.message.includes(`open-type="${method}|agreePrivacyAuthorization"`),
          `names the combined button: ${err.message}`);
        assert.ok(err.message.includes(detail.errMsg), 'keeps WeChat\'s errMsg');
        // WeChat's errMsg alone (no errno) says the same.
        await rejection(client[method]({ errMsg: detail.errMsg }), { code: 'privacy_denied' });
        assert.equal(wx.calls.request + wx.calls.login + wx.calls.showToast, 0);
      });

      test(`${method}() errno 112 (the guide lacks the phone number) → privacy_not_declared, saying what to fix`, async () => {
        const wx = createFakeWx({ sandboxUrl });
        const client = createClient({ baseUrl: apiUrl, wx });
        const detail = { errMsg: `${method}:fail api scope is not declared in the privacy agreement`, errno: 112 };
        const err = await rejection(client[method]({ type, detail }),
          { code: 'privacy_not_declared', status: 0, stage: 'request', retry: undefined, cause: detail });
        assert.match(err.message, /errno 112/);
        for (const part of ['mp.weixin.qq.com', '设置 → 服务内容声明 → 用户隐私保护指引', '手机号', detail.errMsg]) {
          assert.ok(err.message.includes(part), `says "${part}": ${err.message}`);
        }
        // A version submitted as collecting nothing (未采集隐私): the same fix, in the same place.
        const banned = await rejection(client[method]({ errMsg: `${method}:fail appid privacy api banned` }),
          { code: 'privacy_not_declared' });
        assert.ok(banned.message.includes('未采集隐私') && banned.message.includes('用户隐私保护指引'), banned.message);
        assert.equal(wx.calls.request + wx.calls.login + wx.calls.showToast, 0);
      });

      test(`${method}() with a session stored: privacy failures still send nothing`, async () => {
        const { wx, client, tapAgain } = setup();
        await client.login();
        await rejection(client[method]({ errMsg: `${method}:fail privacy permission is not authorized`, errno: 104 }),
          { code: 'privacy_denied' });
        await rejection(client[method]({ errMsg: `${method}:fail api scope is not declared in the privacy agreement`, errno: 112 }),
          { code: 'privacy_not_declared' });
        assert.deepEqual(paths(wx), ['POST /onlogin']);
        assert.equal(tapAgain.length, 0);
      });

      test(`${method}() refused by the user (also errno 103, WeChat's privacy-and-phone sheet) → still user_denied`, async () => {
        const wx = createFakeWx({ sandboxUrl });
        const client = createClient({ baseUrl: apiUrl, wx });
        for (const detail of [{ errMsg: `${method}:fail user deny` }, { errMsg: `${method}:fail:user deny` },
          { errMsg: `${method}:fail user deny`, errno: 103 }]) {
          await rejection(client[method]({ type, detail }), { code: 'user_denied', message: detail.errMsg, status: 0 });
        }
        assert.equal(wx.calls.request + wx.calls.login + wx.calls.showToast, 0);
      });
    }
  });

  describe('createClient({ onNeedPrivacy })', () => {
    /** console.warn and console.error calls while `fn` runs. */
    async function consoleDuring(fn) {
      const seen = [];
      const { warn, error } = console;
      console.warn = (...args) => seen.push(['warn', ...args]);
      console.error = (...args) => seen.push(['error', ...args]);
      try { await fn(); } finally { Object.assign(console, { warn, error }); }
      return seen;
    }

    test('a handler: one listener registered at creation, called with WeChat\'s resolve and eventInfo', async () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      const seen = [];
      createClient({ baseUrl: apiUrl, wx, onNeedPrivacy: (resolve, eventInfo) => {
        seen.push(eventInfo);
        // The app shows its agreement; its agreePrivacyAuthorization button resolves later.
        resolve({ event: 'exposureAuthorization' });
        setImmediate(() => resolve({ event: 'agree', buttonId: 'agree-btn' }));
      } });
      assert.equal(wx.privacyListeners.length, 1, 'registered when the client is created');
      assert.deepEqual(await wx.needPrivacy('button.getPhoneNumber'), { event: 'agree', buttonId: 'agree-btn' });
      assert.deepEqual(await wx.needPrivacy('button.getRealtimePhoneNumber'), { event: 'agree', buttonId: 'agree-btn' });
      assert.deepEqual(seen, [{ referrer: 'button.getPhoneNumber' }, { referrer: 'button.getRealtimePhoneNumber' }]);
      assert.deepEqual(wx.privacyResolutions.map((r) => r.event),
        ['exposureAuthorization', 'agree', 'exposureAuthorization', 'agree'], 'passed to WeChat as given');
      assert.equal(wx.privacyListeners.length, 1, 'never registered again');
      assert.equal(wx.calls.request + wx.calls.login + wx.calls.showModal + wx.calls.showToast, 0);
    });

    test('a handler that declines: WeChat gets disagree', async () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      createClient({ baseUrl: apiUrl, wx, onNeedPrivacy: (resolve) => resolve({ event: 'disagree' }) });
      assert.deepEqual(await wx.needPrivacy('button.getPhoneNumber'), { event: 'disagree' });
    });

    test('a handler that throws: the held-back button is refused (disagree), and the error goes on', async () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      const bug = new Error('the app\'s privacy UI broke');
      createClient({ baseUrl: apiUrl, wx, onNeedPrivacy: () => { throw bug; } });
      const resolutions = [];
      assert.throws(() => wx.privacyListeners[0]((r) => resolutions.push(r), { referrer: 'button.getPhoneNumber' }),
        (err) => err === bug);
      assert.deepEqual(resolutions, [{ event: 'disagree' }]);
    });

    test('default: nothing registered, so WeChat\'s own privacy popup asks the user; no modal, no warning', async () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      const seen = await consoleDuring(async () => {
        const client = createClient({ baseUrl: apiUrl, wx });
        assert.equal(await wx.needPrivacy('button.getPhoneNumber'), 'official-popup');
        await rejection(client.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 104 } }),
          { code: 'privacy_denied' });
      });
      assert.equal(wx.privacyListeners.length, 0);
      assert.deepEqual(seen, []);
      assert.equal(wx.calls.showModal + wx.calls.showToast + wx.calls.request + wx.calls.login, 0);
    });

    test('null: nothing registered, so the app\'s own listener stays in force (WeChat keeps the last one)', async () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      wx.onNeedPrivacyAuthorization((resolve) => resolve({ event: 'disagree' })); // the app's, in app.js
      createClient({ baseUrl: apiUrl, wx, onNeedPrivacy: null });
      assert.equal(wx.privacyListeners.length, 1);
      assert.deepEqual(await wx.needPrivacy('button.getPhoneNumber'), { event: 'disagree' });
    });

    test('a wx without onNeedPrivacyAuthorization (base library before 2.32.3, stand-ins): tolerated', async () => {
      const wx = createFakeWx({ sandboxUrl }); // no privacy API
      assert.equal(wx.onNeedPrivacyAuthorization, undefined);
      const seen = await consoleDuring(async () => {
        const client = createClient({ baseUrl: apiUrl, wx, onNeedPrivacy: () => assert.fail('never called') });
        assert.equal((await client.login()).openid, wx.openid);
      });
      assert.deepEqual(seen, []);
    });

    test('anything but a function or null is refused', () => {
      const wx = createFakeWx({ sandboxUrl, privacy: true });
      for (const onNeedPrivacy of [true, 'modal', {}]) {
        assert.throws(() => createClient({ baseUrl: apiUrl, wx, onNeedPrivacy }), TypeError);
      }
      assert.equal(wx.privacyListeners.length, 0);
    });
  });

  describe('request() to a route behind the wxlogin authorizer', () => {
    /**
     * API Gateway with the authorizer in front of `GET /me` (the local stack has no API
     * Gateway): no Authorization → 401 Unauthorized; a token GET /session refuses (the
     * authorizer reads the same session and user) → 403 Forbidden; else the route runs
     * with the authorizer's context.
     */
    function gatewayWithAuthorizer(wx) {
      const authorizeThenRoute = async (req) => {
        const bearer = req.header.authorization;
        if (!bearer) return { status: 401, body: { message: 'Unauthorized' } };
        const live = await fetch(apiUrl + '/session', { headers: { authorization: bearer } });
        if (live.status === 401) return { status: 403, body: { message: 'Forbidden' } };
        return { status: 200, body: { openid: (await live.json()).openid } };
      };
      wx.hooks.respond = (req) => (req.url.startsWith(apiUrl + '/me') ? authorizeThenRoute(req) : null);
    }

    test('a token logged out everywhere (403 Forbidden): one re-login, one retry, success', async () => {
      const { wx, client } = setup();
      gatewayWithAuthorizer(wx);
      assert.equal((await client.request({ url: '/me' })).openid, wx.openid);
      const other = setup({ openid: wx.openid });
      await other.client.login();
      await other.client.logoutEverywhere(); // this device's token is refused from now on
      assert.equal((await client.request({ url: '/me' })).openid, wx.openid);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /me', 'GET /me', 'POST /onlogin', 'GET /me']);
      assert.equal(wx.calls.login, 2);
    });

    test('a token the authorizer keeps refusing: one re-login, then http_error 403, token dropped', async () => {
      const { wx, client } = setup();
      gatewayWithAuthorizer(wx);
      await client.login();
      wx.hooks.beforeRequest = (req) => { if (req.url.endsWith('/me')) req.header.authorization = 'Bearer revoked'; };
      await rejection(client.request({ url: '/me' }), { code: 'http_error', status: 403, message: 'Forbidden' });
      assert.equal(wx.calls.login, 2);
      assert.equal(client.getToken(), null);
    });

    test('auth: false → API Gateway\'s own 401, no login', async () => {
      const { wx, client } = setup();
      gatewayWithAuthorizer(wx);
      await rejection(client.request({ url: '/me', auth: false }), { code: 'http_error', status: 401, message: 'Unauthorized' });
      assert.equal(wx.calls.login, 0);
    });
  });

  describe('getPhoneNumber() and the user\'s phone', () => {
    test('the verified number is remembered on the session (getSession().phone)', async () => {
      const { wx, client } = setup();
      await client.login();
      assert.equal(client.getSession().phone, undefined);
      await client.getPhoneNumber(await phoneEvent(wx, { legacy: true }));
      assert.deepEqual(client.getSession().phone, PHONE);
      assert.deepEqual((await client.request({ url: '/session' })).phone, PHONE, 'the server bound it to the user');
    });

    test('a phone code issued to another user is refused: invalid_code, tap again', async () => {
      const { client, tapAgain } = setup();
      await client.login();
      const stranger = createFakeWx({ sandboxUrl });
      await sandboxPost(sandboxUrl, '/sandbox/login', { openid: stranger.openid });
      const theirs = await phoneEvent(stranger);
      await rejection(client.getPhoneNumber(theirs), { code: 'invalid_code', status: 401, retry: 'tap_again' });
      assert.equal(tapAgain.length, 1);
      assert.equal(client.getSession().phone, undefined);
    });

    test('key rotated (legacy form): the session replaced by the re-login is ended', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      await rotateKey(wx.openid);
      await rejection(client.getPhoneNumber(await phoneEvent(wx, { legacy: true })), { code: 'session_key_mismatch' });
      await wx.idle();
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /decrypt-phone', 'POST /onlogin', 'DELETE /session']);
      assert.equal(wx.requests[3].header.authorization, 'Bearer ' + token);
      await assertDead(token, 'the replaced token');
      assert.equal((await sessionWith(client.getToken())).status, 200);
    });
  });

  describe('checkSession()', () => {
    test('logs in when needed and answers the session; a valid one costs no login', async () => {
      const { wx, client } = setup();
      assert.equal((await client.checkSession()).openid, wx.openid);
      assert.equal((await client.checkSession()).openid, wx.openid);
      assert.equal(wx.calls.login, 1);
      assert.ok(wx.requests.filter((r) => r.method === 'GET').every((r) => r.url.endsWith('/session?check=wechat')));
    });

    test('after a key rotation it logs in again, so the legacy button works first time', async () => {
      const { wx, client, tapAgain } = setup();
      const { token } = await client.login();
      await rotateKey(wx.openid);
      const session = await client.checkSession();
      assert.equal(session.openid, wx.openid);
      assert.equal(wx.calls.login, 2);
      assert.notEqual(client.getToken(), token);
      assert.deepEqual(await client.getPhoneNumber(await phoneEvent(wx, { legacy: true })), PHONE);
      assert.equal(tapAgain.length, 0);
    });
  });

  describe('checkSession() and the user\'s phone', () => {
    test('a number verified on another device shows up in the answer and getSession()', async () => {
      const { wx, client } = setup();
      await client.login();
      const other = setup({ openid: wx.openid });
      await other.client.getPhoneNumber(await phoneEvent(other.wx));
      assert.equal(client.getSession().phone, undefined, 'as of its login');
      assert.deepEqual((await client.checkSession()).phone, PHONE);
      assert.deepEqual(client.getSession().phone, PHONE);
    });

    test('after a key rotation the replaced session is ended in the background', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      await rotateKey(wx.openid);
      await client.checkSession();
      await wx.idle();
      assert.ok(wx.requests.some((r) => r.method === 'DELETE' && r.header.authorization === 'Bearer ' + token));
      await assertDead(token, 'the replaced token');
      assert.equal((await sessionWith(client.getToken())).status, 200);
    });
  });

  describe('logout()', () => {
    test('DELETE /session with the token, storage cleared, the token is dead', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      await client.logout();
      assert.deepEqual(paths(wx).at(-1), 'DELETE /session');
      assert.equal(wx.requests.at(-1).header.authorization, 'Bearer ' + token);
      assert.equal(wx.storage.has(KEY), false);
      assert.equal(client.getToken(), null);
      const after = await sessionWith(token);
      assert.equal(after.status, 401);
      assert.equal(after.body.error, 'invalid_token');
    });

    test('no token stored → resolves without any network call', async () => {
      const { wx, client } = setup();
      await client.logout();
      assert.equal(wx.calls.request + wx.calls.login, 0);
    });

    test('an already revoked token (401 invalid_token) → resolves, storage cleared', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      await client.logout();
      assert.deepEqual(paths(wx), ['DELETE /session']);
      assert.equal(wx.storage.has(KEY), false);
    });

    test('a network failure rejects, but the local token is gone anyway', async () => {
      const wx = createFakeWx({ sandboxUrl });
      const client = createClient({ baseUrl: 'http://127.0.0.1:9', wx });
      wx.setStorageSync(KEY, 'some-token');
      await rejection(client.logout(), { code: 'network_error' });
      assert.equal(wx.storage.has(KEY), false);
    });

    test('a login under way when logout() runs does not log the user back in', async () => {
      const { client } = setup();
      const pending = client.login();
      await client.logout();
      await rejection(pending, { code: 'logged_out' });
      assert.equal(client.getToken(), null);
    });

    test('a request refused while logout() runs does not log the user back in', async () => {
      const { wx, client } = setup();
      await client.login();
      // The request carries a token the server refuses, and its 401 arrives after logout().
      wx.hooks.beforeRequest = (req) => { if (req.method === 'GET') req.header.authorization = 'Bearer revoked'; };
      wx.hooks.responseDelay = (req) => (req.method === 'GET' ? 300 : 0);
      const pending = client.request({ url: '/session' });
      await client.logout();
      await rejection(pending, { code: 'invalid_token', status: 401 });
      assert.equal(wx.calls.login, 1, 'no login after logout');
      assert.equal(client.getToken(), null);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'GET /session', 'DELETE /session']);
    });

    test('after logout, request() logs in again with a new token', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      await client.logout();
      assert.equal((await client.request({ url: '/session' })).openid, wx.openid);
      assert.notEqual(client.getToken(), token);
      assert.equal(wx.calls.login, 2);
    });
  });

  describe('logoutEverywhere()', () => {
    /** The same user logged in on `n` more devices: their tokens. */
    async function otherDevices(openid, n) {
      return Promise.all(Array.from({ length: n }, async () => (await setup({ openid }).client.login()).token));
    }

    test('ends every session of the user and resolves with the count', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      const others = await otherDevices(wx.openid, 2);
      assert.equal(await client.logoutEverywhere(), 3);
      assert.deepEqual(paths(wx).at(-1), 'DELETE /session?all=true');
      assert.equal(wx.requests.at(-1).header.authorization, 'Bearer ' + token);
      assert.equal(wx.storage.has(KEY), false);
      assert.equal(client.getToken(), null);
      assert.equal(client.getSession(), null);
      for (const t of [token, ...others]) await assertDead(t);
    });

    test('a device logged out everywhere logs in again as usual', async () => {
      const { wx, client } = setup();
      const other = setup({ openid: wx.openid });
      const theirs = (await other.client.login()).token;
      await client.login();
      assert.equal(await client.logoutEverywhere(), 2);
      // The other device's request: 401, one re-login, then a live session.
      assert.equal((await other.client.request({ url: '/session' })).openid, wx.openid);
      assert.notEqual(other.client.getToken(), theirs);
      assert.equal(other.wx.calls.login, 2);
    });

    test('no token stored: logs in first, so the other devices are still reached', async () => {
      const { wx, client } = setup();
      const [theirs] = await otherDevices(wx.openid, 1);
      assert.equal(await client.logoutEverywhere(), 2);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'DELETE /session?all=true']);
      assert.equal(wx.storage.has(KEY), false);
      await assertDead(theirs, 'the other device\'s token');
    });

    test('a dead stored token: one login, one retry, the other devices reached', async () => {
      const { wx, client } = setup();
      const [theirs] = await otherDevices(wx.openid, 1);
      wx.setStorageSync(KEY, 'garbage-token');
      assert.equal(await client.logoutEverywhere(), 2);
      assert.deepEqual(paths(wx), ['DELETE /session?all=true', 'POST /onlogin', 'DELETE /session?all=true']);
      assert.equal(wx.calls.login, 1);
      assert.equal(wx.storage.has(KEY), false);
      await assertDead(theirs, 'the other device\'s token');
    });

    test('a login under way when it runs is discarded, and its session ended', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      const pending = client.login();
      const ended = await client.logoutEverywhere();
      assert.ok(ended >= 1);
      await rejection(pending, { code: 'logged_out', stage: 'login' });
      assert.equal(client.getToken(), null);
      await wx.idle();
      await assertDead(token);
      const discarded = wx.requests.filter((r) => r.method === 'DELETE' && r.url.endsWith('/session'));
      assert.equal(discarded.length, 1, 'the discarded login\'s token is retired');
      await assertDead(discarded[0].header.authorization.slice('Bearer '.length), 'the discarded token');
    });

    test('a network failure rejects, but the local token is gone anyway', async () => {
      const wx = createFakeWx({ sandboxUrl });
      const client = createClient({ baseUrl: 'http://127.0.0.1:9', wx });
      wx.setStorageSync(KEY, 'some-token');
      await rejection(client.logoutEverywhere(), { code: 'network_error' });
      assert.equal(wx.storage.has(KEY), false);
    });

    test('a server without ?all=true (no sessions count) → bad_response, token gone', async () => {
      const storage = new Map([[KEY, 'some-token']]);
      const old = {
        request: (o) => setImmediate(o.success, { statusCode: 200, data: { logged_out: true }, header: {} }),
        getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
        setStorageSync: (k, v) => storage.set(k, v), removeStorageSync: (k) => storage.delete(k),
        login() {}, showToast() {},
      };
      const client = createClient({ baseUrl: apiUrl, wx: old });
      await rejection(client.logoutEverywhere(), { code: 'bad_response', status: 200 });
      assert.equal(storage.has(KEY), false);
    });
  });

  describe('getAccessToken()', () => {
    /** A JWT's header and claims, base64url-decoded as any backend would. */
    function decoded(jwt) {
      const parts = jwt.split('.');
      assert.equal(parts.length, 3, 'a JWS compact: header.payload.signature');
      const json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
      return { header: json(parts[0]), claims: json(parts[1]) };
    }

    /** The `POST /token` answers this fake wx got, oldest first. */
    const tokenAnswers = (wx) => wx.requests
      .filter((r) => r.method === 'POST' && r.url === apiUrl + '/token')
      .map((r) => r.response);
    const tokenCalls = (wx) => tokenAnswers(wx).length;

    /** setup() on a clock the test moves: `advance(ms)`. */
    function clocked(options = {}) {
      let offset = 0;
      const user = setup({ ...options, now: () => Date.now() + offset });
      user.advance = (ms) => { offset += ms; };
      return user;
    }

    /** What the client waits for before renewing, as its docs say: 10%, 60 s to half. */
    const renewMargin = (lifetime) => Math.min(Math.max(lifetime * 0.1, 60_000), lifetime / 2);

    /** /token answers `status` `{error, message}` with Retry-After `retryAfter`; the rest passes. */
    function refuseToken(wx, status, error, retryAfter) {
      wx.hooks.respond = (req) => (req.url === apiUrl + '/token'
        ? Promise.resolve({ status, body: { error, message: `${error} (played by the test)` },
          headers: { 'retry-after': String(retryAfter) } })
        : null);
    }

    test('logs in first and resolves with a JWT of this user and app, signed by a key of the JWKS', async () => {
      const { wx, client } = setup();
      const jwt = await client.getAccessToken();
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /token']);
      assert.equal(wx.requests[1].header.authorization, 'Bearer ' + client.getToken(), 'sent with the session token');
      const [answer] = tokenAnswers(wx);
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.data.access_token, jwt);
      assert.equal(answer.data.token_type, 'Bearer');
      assert.equal(typeof answer.data.expires_in, 'number');

      const { header, claims } = decoded(jwt);
      assert.equal(header.alg, 'RS256');
      assert.equal(header.typ, 'JWT');
      assert.equal(typeof header.kid, 'string');
      const { appid } = client.getSession();
      assert.equal(claims.sub, wx.openid);
      assert.equal(claims.aud, appid);
      assert.equal(claims.appid, appid);
      // exp is the issue time + expires_in; iat is set a few seconds early (at most 5) so a
      // verifier whose clock is a little behind does not see a token from the future.
      const early = claims.exp - claims.iat - answer.data.expires_in;
      assert.ok(early >= 0 && early <= 5, `exp - iat (${claims.exp - claims.iat}) is expires_in (${answer.data.expires_in}) + at most 5 s`);
      assert.ok(Math.abs(claims.exp - answer.data.expires_in - Date.now() / 1000) < 60, 'exp is now + expires_in');
      assert.match(claims.jti, /\S/);
      assert.equal(claims.phone_number, undefined, 'no number bound yet');

      // What another backend does: discovery, then the JWKS, then the signature.
      const discovery = await (await fetch(apiUrl + '/.well-known/openid-configuration')).json();
      assert.equal(claims.iss, discovery.issuer);
      assert.ok(discovery.issuer.startsWith('http'), discovery.issuer);
      const jwks = await (await fetch(discovery.jwks_uri)).json();
      const jwk = jwks.keys.find((key) => key.kid === header.kid);
      assert.ok(jwk, `the JWKS has the key ${header.kid}`);
      const [signedHeader, signedPayload, signature] = jwt.split('.');
      assert.ok(verify('RSA-SHA256', Buffer.from(signedHeader + '.' + signedPayload),
        createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')), 'the signature verifies');
    });

    test('a second call answers from memory: no request, nothing in storage', async () => {
      const { wx, client } = setup();
      const jwt = await client.getAccessToken();
      const sent = wx.calls.request;
      assert.equal(await client.getAccessToken(), jwt);
      assert.equal(await client.getAccessToken(), jwt);
      assert.equal(wx.calls.request, sent, 'no request for a cached token');
      assert.equal(wx.calls.login, 1);
      assert.ok(![...wx.storage.values()].some((value) => JSON.stringify(value).includes(jwt)),
        'the JWT is never written to wx storage');
    });

    test('concurrent calls share one login and one /token request', async () => {
      const { wx, client } = setup();
      const answers = await Promise.all(Array.from({ length: 6 }, () => client.getAccessToken()));
      assert.equal(new Set(answers).size, 1);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /token']);

      const other = setup();
      await other.client.login();
      other.wx.hooks.responseDelay = (req) => (req.url.endsWith('/token') ? 200 : 0); // still under way
      const more = await Promise.all(Array.from({ length: 4 }, () => other.client.getAccessToken()));
      assert.equal(new Set(more).size, 1);
      assert.equal(tokenCalls(other.wx), 1);
    });

    test('renewed once less than its margin is left, by the local clock', async () => {
      const { wx, client, advance } = clocked();
      const first = await client.getAccessToken();
      const lifetime = tokenAnswers(wx)[0].data.expires_in * 1000;
      const renewAt = lifetime - renewMargin(lifetime);
      advance(renewAt - 2000);
      assert.equal(await client.getAccessToken(), first, 'still well within its life');
      assert.equal(tokenCalls(wx), 1);
      advance(2000);
      const second = await client.getAccessToken();
      assert.notEqual(second, first, 'renewed');
      assert.equal(tokenCalls(wx), 2);
      assert.notEqual(decoded(second).claims.jti, decoded(first).claims.jti);
      assert.equal(decoded(second).claims.sub, wx.openid);
      assert.equal(wx.calls.login, 1, 'the session was still live: no login');
      assert.equal(await client.getAccessToken(), second);

      advance(-60_000); // the device clock set back: the age is unknown, so renew
      assert.notEqual(await client.getAccessToken(), second);
      assert.equal(tokenCalls(wx), 3);
    });

    test('the session ended server-side: the cached JWT is not recalled; at renewal, one login, a new JWT', async () => {
      const { wx, client, advance } = clocked();
      const { token } = await client.login();
      const first = await client.getAccessToken();
      const ended = await fetch(apiUrl + '/session', { method: 'DELETE', headers: { authorization: 'Bearer ' + token } });
      assert.equal(ended.status, 200);
      // No request until renewal: a JWT cannot be recalled, here or at the backends.
      assert.equal(await client.getAccessToken(), first);
      assert.equal(tokenCalls(wx), 1);

      const lifetime = tokenAnswers(wx)[0].data.expires_in * 1000;
      advance(lifetime - renewMargin(lifetime));
      const second = await client.getAccessToken();
      assert.notEqual(second, first);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'POST /token', 'POST /token', 'POST /onlogin', 'POST /token']);
      assert.deepEqual(tokenAnswers(wx).map((a) => [a.statusCode, a.data.error]),
        [[200, undefined], [401, 'invalid_token'], [200, undefined]]);
      assert.notEqual(client.getToken(), token, 'a new session');
      assert.equal(decoded(second).claims.sub, wx.openid);
    });

    test('a dead stored session: one re-login, one retry, the JWT', async () => {
      const { wx, client } = setup();
      wx.setStorageSync(KEY, 'garbage-token');
      const jwt = await client.getAccessToken();
      assert.equal(decoded(jwt).claims.sub, wx.openid);
      assert.deepEqual(paths(wx), ['POST /token', 'POST /onlogin', 'POST /token']);
      assert.equal(wx.calls.login, 1);
    });

    test('logout(), logoutEverywhere() and deleteAccount() drop it: the next call logs in', async () => {
      for (const end of ['logout', 'logoutEverywhere', 'deleteAccount']) {
        const { wx, client } = setup();
        const first = await client.getAccessToken();
        await client[end]();
        const second = await client.getAccessToken();
        assert.notEqual(second, first, end);
        assert.equal(wx.calls.login, 2, `${end}: logged in again`);
        assert.equal(tokenCalls(wx), 2, end);
        assert.equal(decoded(second).claims.sub, wx.openid);
      }
    });

    test('a fetch under way when logout() runs rejects with logged_out, and is not kept', async () => {
      const { wx, client } = setup();
      await client.login();
      wx.hooks.responseDelay = (req) => (req.url.endsWith('/token') ? 300 : 0);
      const pending = client.getAccessToken();
      await client.logout();
      await rejection(pending, { code: 'logged_out' });
      wx.hooks.responseDelay = null;
      await client.getAccessToken();
      assert.equal(wx.calls.login, 2, 'logged in again');
      assert.equal(tokenCalls(wx), 2, 'the discarded one was not handed out again');
    });

    test('a newly verified number: the next JWT carries it', async () => {
      const { wx, client } = setup();
      const before = decoded(await client.getAccessToken()).claims;
      assert.equal(before.phone_number, undefined);
      await client.getPhoneNumber(await phoneEvent(wx));
      const after = decoded(await client.getAccessToken()).claims;
      assert.equal(tokenCalls(wx), 2, 'the cached JWT had stale phone claims');
      assert.equal(after.phone_number, '+86' + PHONE.purePhoneNumber);
      assert.equal(after.phone_number_verified, true);
      assert.equal(after.phone_verified_by, 'code');
      assert.equal(typeof after.phone_verified_at, 'number');
    });

    for (const [status, error] of [[503, 'signing_unavailable'], [429, 'rate_limited']]) {
      test(`${status} ${error}: rejects with it, and asks again only after Retry-After`, async () => {
        const { wx, client, advance } = clocked();
        await client.login();
        refuseToken(wx, status, error, 5);
        await rejection(client.getAccessToken(), { code: error, status, retryAfter: 5, stage: 'request' });
        assert.equal(tokenCalls(wx), 1);
        const again = await rejection(client.getAccessToken(), { code: error, status });
        assert.ok(again.retryAfter >= 1 && again.retryAfter <= 5, `retryAfter counts down: ${again.retryAfter}`);
        await Promise.all([client.getAccessToken(), client.getAccessToken()].map((p) => p.catch(() => {})));
        assert.equal(tokenCalls(wx), 1, 'no request before Retry-After');
        assert.equal(wx.calls.login, 1, 'no login either');
        advance(5000);
        wx.hooks.respond = null;
        assert.equal(decoded(await client.getAccessToken()).claims.sub, wx.openid);
        assert.equal(tokenCalls(wx), 2);
      });
    }

    test('an answer without an access_token: bad_response, nothing of the body in the error', async () => {
      const { wx, client } = setup();
      await client.login();
      wx.hooks.respond = (req) => (req.url === apiUrl + '/token'
        ? Promise.resolve({ status: 200, body: { token: 'not-where-it-belongs' } }) : null);
      const err = await rejection(client.getAccessToken(), { code: 'bad_response', status: 200 });
      assert.ok(!JSON.stringify({ ...err, message: err.message }).includes('not-where-it-belongs'));
    });

    test('a clock that is not a function is refused', () => {
      assert.throws(() => createClient({ baseUrl: apiUrl, wx: createFakeWx({ sandboxUrl }), now: 42 }), TypeError);
    });
  });

  describe('an expired session', () => {
    test('is forgotten, phone and openid with it, as soon as the client sees it', async () => {
      for (const look of [(c) => c.getToken(), (c) => c.getSession()]) {
        const { wx, client } = setup();
        wx.setStorageSync(KEY, { token: 'expired-token', openid: 'o1', phone: PHONE, expiresAt: Date.now() - 1 });
        assert.equal(look(client), null);
        assert.equal(wx.storage.has(KEY), false, 'nothing of the user is left in storage');
      }
    });
  });

  describe('deleteAccount() and getMyData()', () => {
    test('a copy of the data, then the account cancelled on every device', async () => {
      const { wx, client } = setup();
      const { token } = await client.login();
      const other = setup({ openid: wx.openid });
      const theirs = (await other.client.login()).token;
      const data = await client.getMyData();
      assert.equal(data.openid, wx.openid);
      assert.equal(data.sessions.length, 2);
      assert.equal(data.sessions.filter((s) => s.current).length, 1);
      assert.equal(typeof data.created_at, 'number');
      assert.ok(!JSON.stringify(data).includes(token), 'no token in the copy');

      assert.equal(await client.deleteAccount(), 2);
      assert.deepEqual(paths(wx).at(-1), 'DELETE /account');
      assert.equal(wx.storage.has(KEY), false, 'everything stored is forgotten');
      assert.equal(client.getSession(), null);
      for (const t of [token, theirs]) await assertDead(t);

      // The next login is a brand-new user.
      assert.equal((await client.login()).new_user, true);
    });

    test('no session stored: logs in first, then cancels', async () => {
      const { wx, client } = setup();
      const [theirs] = await Promise.all([setup({ openid: wx.openid }).client.login()]);
      assert.equal(await client.deleteAccount(), 2);
      assert.deepEqual(paths(wx), ['POST /onlogin', 'DELETE /account']);
      await assertDead(theirs.token, 'the other device\'s token');
    });

    test('a network failure rejects, and the local session is gone anyway', async () => {
      const wx = createFakeWx({ sandboxUrl });
      const client = createClient({ baseUrl: 'http://127.0.0.1:9', wx });
      wx.setStorageSync(KEY, 'some-token');
      await rejection(client.deleteAccount(), { code: 'network_error' });
      assert.equal(wx.storage.has(KEY), false);
    });
  });
}
