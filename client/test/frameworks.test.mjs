// The client under uni-app and Taro: `createClient({ wx: uni })`, `createClient({ wx: Taro })`,
// with stand-ins that call the APIs as those frameworks do (test-support/uni-standin.mjs,
// taro-standin.mjs) over the fake wx, against the real local stack. Each scenario runs under
// wx, uni and Taro, with the same assertions, and must end with the same summary as under wx
// and without a single unhandled promise rejection (Taro's calls return promises that reject
// on failure even when `fail` is given).
//   WXLOGIN_API_URL=http://127.0.0.1:9200 WXLOGIN_SANDBOX_URL=http://127.0.0.1:9100 node --test client/test/

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { createClient, WxLoginError, TAP_AGAIN_TEXT } from '../wxlogin.js';
import { createFakeWx, sandboxPost, stackFromEnv } from '../test-support/fake-wx.mjs';
import { createUniStandin } from '../test-support/uni-standin.mjs';
import { createTaroStandin } from '../test-support/taro-standin.mjs';
import { acquireSandboxLock } from '../test-support/sandbox-lock.mjs';

/** Every unhandled rejection in this process; each test asserts it added none. */
const unhandled = [];
process.on('unhandledRejection', (reason) => { unhandled.push(reason); });

const stack = stackFromEnv();
if (stack.missing) {
  test('the local stack is configured', () => assert.fail(stack.missing));
} else {
  liveTests(stack);
}

function liveTests({ apiUrl, sandboxUrl }) {
  const PHONE = { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' };
  const KEY = 'wxlogin.token';
  const UNREACHABLE = 'http://127.0.0.1:9';

  /** What each framework hands the client, and the fake wx underneath it. */
  const FRAMEWORKS = {
    wx: (options) => { const fake = createFakeWx(options); return { api: fake, fake }; },
    uni: (options) => { const uni = createUniStandin(options); return { api: uni, fake: uni.fake }; },
    Taro: (options) => { const taro = createTaroStandin(options); return { api: taro, fake: taro.fake }; },
  };

  /**
   * A test per framework for `scenario(env)`, then one that their summaries (what it
   * returns) are wx's. `env.user(options)`: a fake user under this framework, `{api, fake,
   * client}` (`client` made with `createClient({ baseUrl, wx: api, ...options })`). After
   * the scenario every fake is idle and no promise rejection went unhandled.
   */
  function scenario(name, run) {
    describe(name, () => {
      const summaries = {};
      for (const framework of Object.keys(FRAMEWORKS)) {
        test(framework, async () => {
          unhandled.splice(0);
          const users = [];
          const env = {
            framework,
            user(options = {}) {
              const { openid, privacy, baseUrl = apiUrl, ...clientOptions } = options;
              const made = FRAMEWORKS[framework]({ sandboxUrl, openid, privacy });
              made.client = createClient({ baseUrl, wx: made.api, ...clientOptions });
              users.push(made);
              return made;
            },
          };
          try {
            summaries[framework] = await run(env);
          } finally {
            await Promise.all(users.map((u) => u.fake.idle()));
            await new Promise((resolve) => setImmediate(resolve));
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.deepEqual(unhandled.splice(0).map(String), [], 'no unhandled promise rejection');
        });
      }
      test('the same outcome under uni and Taro as under wx', () => {
        assert.ok(summaries.wx, 'the wx run finished');
        assert.deepEqual(summaries.uni, summaries.wx, 'uni');
        assert.deepEqual(summaries.Taro, summaries.wx, 'Taro');
      });
    });
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

  /** The fields of an error that must not depend on the framework. */
  const errorSummary = (err) => ({ code: err.code, status: err.status, stage: err.stage, retry: err.retry });

  const paths = (fake) => fake.requests.map((r) => `${r.method} ${r.url.slice(apiUrl.length)}`);

  /** The getPhoneNumber event the button would give this user now (current session_key). */
  async function phoneEvent(fake, { legacy = false } = {}) {
    const data = await sandboxPost(sandboxUrl, '/sandbox/phone', { openid: fake.openid, phoneNumber: PHONE.phoneNumber });
    const detail = { errMsg: 'getPhoneNumber:ok', encryptedData: data.encryptedData, iv: data.iv };
    if (!legacy) detail.code = data.code;
    return { type: 'getphonenumber', detail };
  }

  /** GET /session with a raw token, outside the client. */
  async function sessionStatus(token) {
    const res = await fetch(apiUrl + '/session', { headers: { authorization: 'Bearer ' + token } });
    return res.status;
  }

  /** A JWT's claims, base64url-decoded. */
  const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

  /** Under Taro, a failure is also a rejected promise: assert this scenario produced one. */
  function assertTaroRejected(env, user) {
    if (env.framework === 'Taro') assert.ok(user.api.rejected >= 1, 'Taro rejected the call\'s promise too');
  }

  let release = null;
  before(async () => {
    const hint = 'is the stack running? (make dev, or scripts/dev.sh)';
    const sandbox = await fetch(sandboxUrl + '/sandbox/stats', { signal: AbortSignal.timeout(10_000) }).catch((e) => e);
    assert.ok(sandbox.ok, `WeChat sandbox at WXLOGIN_SANDBOX_URL=${sandboxUrl} unreachable (${sandbox.message || sandbox.status}); ${hint}`);
    const api = await fetch(apiUrl + '/onlogin', { method: 'POST', body: '{}', signal: AbortSignal.timeout(180_000) }).catch((e) => e);
    assert.equal(api.status, 400, `POST ${apiUrl}/onlogin should answer 400 to {} (got ${api.message || api.status}); ${hint}`);
    // No sandbox fault while these users log in (wxlogin.test.mjs sets some, under this lock).
    release = await acquireSandboxLock(sandboxUrl);
  }, { timeout: 600_000 });
  after(() => { if (release) release(); });

  scenario('login(): the session stored, one wx.login for concurrent calls', async (env) => {
    const { fake, client } = env.user();
    const answers = await Promise.all([client.login(), client.login(), client.login()]);
    assert.equal(new Set(answers.map((a) => a.token)).size, 1);
    const [answer] = answers;
    assert.equal(answer.openid, fake.openid);
    assert.equal(client.getToken(), answer.token);
    assert.equal(fake.storage.get(KEY).token, answer.token);
    assert.equal(client.getSession().openid, fake.openid);
    assert.equal(await sessionStatus(answer.token), 200);
    return { newUser: answer.new_user, paths: paths(fake), logins: fake.calls.login };
  });

  scenario('login() when wx.login fails: wx_login_failed, nothing sent', async (env) => {
    const user = env.user();
    user.fake.hooks.loginFails = true;
    const err = await rejection(user.client.login(), { code: 'wx_login_failed', stage: 'login', status: 0 });
    assert.match(err.message, /^login:fail/);
    assertTaroRejected(env, user);
    return { error: errorSummary(err), requests: user.fake.calls.request, token: user.client.getToken() };
  });

  scenario('request(): a dead stored session, one re-login, one retry', async (env) => {
    const { fake, client } = env.user();
    fake.setStorageSync(KEY, 'garbage-token');
    const me = await client.request({ url: '/session' });
    assert.equal(me.openid, fake.openid);
    assert.notEqual(client.getToken(), 'garbage-token');
    return { paths: paths(fake), logins: fake.calls.login };
  });

  scenario('request() with the server unreachable: network_error', async (env) => {
    const user = env.user({ baseUrl: UNREACHABLE });
    const err = await rejection(user.client.request({ url: '/session', auth: false }), { code: 'network_error', status: 0 });
    assert.match(err.message, /^request:fail/);
    assertTaroRejected(env, user);
    return { error: errorSummary(err) };
  });

  scenario('getPhoneNumber(): the code form, then the legacy form', async (env) => {
    const { fake, client } = env.user();
    await client.login();
    assert.deepEqual(await client.getPhoneNumber(await phoneEvent(fake)), PHONE);
    assert.deepEqual(await client.getPhoneNumber(await phoneEvent(fake, { legacy: true })), PHONE);
    assert.deepEqual(client.getSession().phone, PHONE);
    const sent = fake.requests.filter((r) => r.url.endsWith('/decrypt-phone')).map((r) => Object.keys(r.data).sort());
    assert.deepEqual(sent, [['code'], ['encryptedData', 'iv']]);
    return { paths: paths(fake), sent };
  });

  scenario('getPhoneNumber() failures that send nothing: refused, pack empty, privacy (104, 112), no data', async (env) => {
    const { fake, client } = env.user({ onTapAgain: undefined });
    const cases = [
      [{ errMsg: 'getPhoneNumber:fail user deny' }, 'user_denied'],
      [{ errMsg: 'getPhoneNumber:fail no quota', errno: 1400001 }, 'phone_pack_empty'],
      [{ errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 104 }, 'privacy_denied'],
      [{ errMsg: 'getPhoneNumber:fail api scope is not declared in the privacy agreement', errno: 112 }, 'privacy_not_declared'],
      [{ errMsg: 'getPhoneNumber:ok' }, 'invalid_event'],
    ];
    const errors = [];
    for (const [detail, code] of cases) {
      errors.push(errorSummary(await rejection(client.getPhoneNumber({ type: 'getphonenumber', detail }), { code, status: 0 })));
    }
    assert.equal(fake.calls.request + fake.calls.login + fake.calls.showToast, 0, 'no request, no toast');
    return { errors };
  });

  scenario('getPhoneNumber() with a used code: 401 invalid_code, tap again, the default toast (failing)', async (env) => {
    const user = env.user({ onTapAgain: undefined }); // the default: a toast
    const { fake, client } = user;
    await client.login();
    const event = await phoneEvent(fake);
    assert.deepEqual(await client.getPhoneNumber(event), PHONE);
    fake.hooks.toastFails = true; // the toast fails: under Taro and uni its promise rejects
    const err = await rejection(client.getPhoneNumber(event), { code: 'invalid_code', status: 401, retry: 'tap_again' });
    // (uni and Taro add their own callbacks to what reaches wx.showToast)
    assert.deepEqual(fake.toasts.map(({ title, icon }) => ({ title, icon })), [{ title: TAP_AGAIN_TEXT, icon: 'none' }]);
    // The toast fails after the rejection; wait for it without subscribing to its promise
    // (a subscription here would hide one the client left unhandled).
    await new Promise((resolve) => setTimeout(resolve, 20));
    assertTaroRejected(env, user);
    if (env.framework === 'uni') {
      const toast = user.api.returned.find((r) => r.name === 'showToast');
      assert.ok(toast && typeof toast.value.then === 'function', 'uni returned a promise for the toast (no callback)');
    }
    fake.hooks.toastFails = false;
    assert.deepEqual(await client.getPhoneNumber(await phoneEvent(fake)), PHONE, 'the next tap works');
    return { error: errorSummary(err), paths: paths(fake), logins: fake.calls.login };
  });

  scenario('getPhoneNumber() legacy data under a rotated key: 422, one re-login, tap again', async (env) => {
    const taps = [];
    const { fake, client } = env.user({ onTapAgain: (err) => taps.push(err.code) });
    await client.login();
    await sandboxPost(sandboxUrl, '/sandbox/login', { openid: fake.openid, session_key: randomBytes(16).toString('base64') });
    const stale = await phoneEvent(fake, { legacy: true });
    const err = await rejection(client.getPhoneNumber(stale), { code: 'session_key_mismatch', status: 422, retry: 'tap_again' });
    assert.deepEqual(await client.getPhoneNumber(await phoneEvent(fake, { legacy: true })), PHONE);
    return { error: errorSummary(err), taps, logins: fake.calls.login, paths: paths(fake) };
  });

  scenario('getAccessToken(): a JWT of this user, then the same from memory', async (env) => {
    const { fake, client } = env.user();
    const jwt = await client.getAccessToken();
    assert.equal(claims(jwt).sub, fake.openid);
    assert.equal(await client.getAccessToken(), jwt);
    return { paths: paths(fake), logins: fake.calls.login };
  });

  scenario('logout(): the session ended and forgotten; unreachable, forgotten anyway', async (env) => {
    const { fake, client } = env.user();
    const { token } = await client.login();
    await client.logout();
    assert.equal(fake.storage.has(KEY), false);
    assert.equal(client.getToken(), null);
    assert.equal(await sessionStatus(token), 401);
    const cut = env.user({ baseUrl: UNREACHABLE });
    cut.fake.setStorageSync(KEY, 'some-token');
    const err = await rejection(cut.client.logout(), { code: 'network_error' });
    assert.equal(cut.fake.storage.has(KEY), false);
    assertTaroRejected(env, cut);
    return { paths: paths(fake), unreachable: errorSummary(err) };
  });

  scenario('onNeedPrivacy: registered through the framework\'s onNeedPrivacyAuthorization', async (env) => {
    const referrers = [];
    const { fake } = env.user({ privacy: true, onNeedPrivacy: (resolve, eventInfo) => {
      referrers.push(eventInfo.referrer);
      resolve({ event: 'agree', buttonId: 'agree-btn' });
    } });
    assert.deepEqual(await fake.needPrivacy('button.getPhoneNumber'), { event: 'agree', buttonId: 'agree-btn' });
    return { registered: fake.privacyListeners.length, referrers };
  });

  describe('the stand-ins behave as the frameworks do', () => {
    test('uni: a promise without a callback, the wx return value (RequestTask) with one', async () => {
      const uni = createUniStandin({ sandboxUrl });
      const task = uni.request({ url: apiUrl + '/.well-known/openid-configuration', success() {} });
      assert.equal(typeof task.abort, 'function');
      assert.equal(typeof task.then, 'undefined');
      const res = await uni.request({ url: apiUrl + '/.well-known/openid-configuration' });
      assert.equal(res.statusCode, 200);
      uni.fake.hooks.loginFails = true;
      await assert.rejects(uni.login(), (r) => /^login:fail/.test(r.errMsg));
      assert.equal(uni.login({ fail() {} }), undefined);
      await uni.fake.idle();
    });

    test('Taro: fail is called AND the promise rejects; request\'s promise has abort()', async () => {
      const taro = createTaroStandin({ sandboxUrl });
      taro.fake.hooks.loginFails = true;
      const failed = [];
      const p = taro.login({ fail: (r) => failed.push(r.errMsg) });
      await assert.rejects(p, (r) => /^login:fail/.test(r.errMsg));
      assert.equal(failed.length, 1);
      const req = taro.request({ url: apiUrl + '/.well-known/openid-configuration' });
      assert.equal(typeof req.abort, 'function');
      assert.equal((await req).statusCode, 200);
    });
  });

  describe('uni-app interceptors (uni.addInterceptor)', () => {
    test('an invoke hook that adds a header: the call returns a promise, the request goes through', async () => {
      unhandled.splice(0);
      const uni = createUniStandin({ sandboxUrl });
      uni.addInterceptor('request', { invoke: async (args) => { args.header['x-app'] = 'demo'; } });
      const client = createClient({ baseUrl: apiUrl, wx: uni });
      assert.equal((await client.request({ url: '/session' })).openid, uni.openid);
      assert.ok(uni.fake.requests.every((r) => r.header['x-app'] === 'demo'));
      assert.ok(uni.returned.some((r) => r.name === 'request' && typeof r.value.then === 'function'));
      await uni.fake.idle();
      assert.deepEqual(unhandled.splice(0).map(String), []);
    });

    test('an invoke hook that rejects (the callbacks never come): network_error, not a request waiting for good', async () => {
      unhandled.splice(0);
      const uni = createUniStandin({ sandboxUrl });
      uni.addInterceptor('request', { invoke: () => Promise.reject(new Error('offline mode: no requests')) });
      const client = createClient({ baseUrl: apiUrl, wx: uni });
      const err = await rejection(client.request({ url: '/session', auth: false }), { code: 'network_error', status: 0 });
      assert.equal(err.message, 'offline mode: no requests');
      assert.equal(uni.fake.calls.request, 0, 'never reached wx.request');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled.splice(0).map(String), []);
    });
  });
}
