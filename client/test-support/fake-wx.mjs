// A fake `wx` for Node tests, backed by the real local stack: storage is a Map, wx.request
// is fetch (answers every HTTP status through `success`, network failures through `fail`,
// as WeChat does), wx.login asks the WeChat sandbox for a code for one fixed user.
// Lives outside test/ because Node 20's `node --test <dir>` runs every .mjs under test/.

import { randomBytes } from 'node:crypto';

/**
 * The stack's URLs from WXLOGIN_API_URL / WXLOGIN_SANDBOX_URL; null plus a message if unset.
 * @returns {{apiUrl: string|null, sandboxUrl: string|null, missing: string|null}}
 */
export function stackFromEnv() {
  const apiUrl = process.env.WXLOGIN_API_URL || null;
  const sandboxUrl = process.env.WXLOGIN_SANDBOX_URL || null;
  const unset = [!apiUrl && 'WXLOGIN_API_URL', !sandboxUrl && 'WXLOGIN_SANDBOX_URL'].filter(Boolean);
  const missing = unset.length === 0 ? null
    : `${unset.join(' and ')} not set: these tests run against the local stack. Start it with ` +
      '`make dev` (or scripts/dev.sh) and run e.g. `WXLOGIN_API_URL=http://127.0.0.1:9200 ' +
      'WXLOGIN_SANDBOX_URL=http://127.0.0.1:9100 node --test client/test/`';
  return { apiUrl, sandboxUrl, missing };
}

/** POSTs JSON to the sandbox and returns the parsed answer; throws on non-2xx. */
export async function sandboxPost(sandboxUrl, path, body) {
  const res = await fetch(sandboxUrl + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** A fresh openid, so each fake user is its own WeChat user. */
export function newOpenid() {
  return 'o_client_' + randomBytes(9).toString('base64url');
}

// Capitalised the way some WeChat clients report them, so the module must not assume case.
function wxHeaders(headers) {
  const out = {};
  headers.forEach((value, name) => {
    out[name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase())] = value;
  });
  return out;
}

function queryString(data) {
  return Object.entries(data)
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join('&');
}

/**
 * A fake wx for one user (fixed openid: every wx.login is the same WeChat user).
 * `calls` counts wx.login / wx.request / wx.showToast / wx.showModal; `requests` logs each
 * wx.request as {method, url, header, data}, plus `response` {statusCode, data, header}
 * once it is answered; `toasts` the showToast options. Hooks for tests:
 * `loginCode(defaultCode) -> code` replaces the code wx.login yields, `loginFails` makes
 * wx.login fail, `toastFails` makes wx.showToast fail, `rotateKeyOnLogin` makes each
 * wx.login rotate the user's session_key (as
 * real WeChat may), `beforeRequest(req)` may edit a request before it is sent,
 * `respond(req) -> Promise<{status, body, headers?}> | null` answers a request in place of
 * the network (to play API Gateway in front of a route, or a server's refusal),
 * `responseDelay(req) -> ms` holds its answer back. `pending` is how many wx.request calls
 * have not called back yet; `idle()` resolves once none has (for requests the module
 * fires without awaiting them).
 *
 * `privacy: true` gives it base library 2.32.3's `wx.onNeedPrivacyAuthorization` (one
 * listener: the last registered wins, as WeChat's), with `privacyListeners` logging every
 * registration and `needPrivacy(referrer)` playing WeChat holding back a privacy API: it
 * calls the listener with `resolve` and `{referrer}` and resolves with the first `agree` /
 * `disagree` passed to `resolve` (every call is logged in `privacyResolutions`), or with
 * `'official-popup'` when no listener is registered (WeChat then shows its own). Without
 * it the fake is an older base library: no such API.
 */
export function createFakeWx({ sandboxUrl, openid = newOpenid(), privacy = false }) {
  const storage = new Map();
  const calls = { login: 0, request: 0, showToast: 0, showModal: 0 };
  const requests = [];
  const toasts = [];
  const hooks = {
    loginCode: null, loginFails: false, rotateKeyOnLogin: false, beforeRequest: null, respond: null, responseDelay: null,
    toastFails: false,
  };
  const later = (fn, arg) => { if (fn) setImmediate(fn, arg); };
  let pending = 0;
  let idleWaiters = [];
  // A request stops counting once its callbacks are queued; idle() waiters wake after them
  // (setImmediate runs in order).
  const settled = () => {
    pending -= 1;
    if (pending > 0) return;
    setImmediate(() => {
      if (pending > 0) return;
      const waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach((wake) => wake());
    });
  };

  const api = {
    openid, storage, calls, requests, toasts, hooks,

    get pending() { return pending; },

    idle() {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },

    login({ success, fail, complete } = {}) {
      calls.login += 1;
      (async () => {
        if (hooks.loginFails) throw new Error('fake failure');
        const user = { openid };
        if (hooks.rotateKeyOnLogin) user.session_key = randomBytes(16).toString('base64');
        const { code } = await sandboxPost(sandboxUrl, '/sandbox/login', user);
        return { code: hooks.loginCode ? hooks.loginCode(code) : code, errMsg: 'login:ok' };
      })().then(
        (res) => { later(success, res); later(complete, res); },
        (err) => { const res = { errMsg: 'login:fail ' + err.message }; later(fail, res); later(complete, res); },
      );
    },

    request(options) {
      calls.request += 1;
      pending += 1;
      const req = {
        method: (options.method || 'GET').toUpperCase(), url: options.url,
        header: { ...(options.header || {}) }, data: options.data,
      };
      if (hooks.beforeRequest) hooks.beforeRequest(req);
      let url = req.url;
      let body;
      if (req.data !== undefined && req.data !== null) {
        if (req.method === 'GET') {
          const qs = typeof req.data === 'string' ? req.data : queryString(req.data);
          if (qs) url += (url.includes('?') ? '&' : '?') + qs;
        } else {
          body = typeof req.data === 'string' ? req.data : JSON.stringify(req.data);
        }
      }
      const entry = { ...req, url }; // the URL as sent, query string included
      requests.push(entry);
      const hasType = Object.keys(req.header).some((k) => k.toLowerCase() === 'content-type');
      const headers = hasType ? req.header : { 'content-type': 'application/json', ...req.header };
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeout || 60000);
      const played = hooks.respond && hooks.respond({ ...req, url });
      const answer = played
        ? played.then((r) => new Response(JSON.stringify(r.body),
          { status: r.status, headers: { 'content-type': 'application/json', ...r.headers } }))
        : fetch(url, { method: req.method, headers, body, signal: controller.signal });
      answer
        .then(async (res) => {
          const text = await res.text();
          let data = text;
          if (options.dataType !== 'text') { try { data = JSON.parse(text); } catch { /* as text */ } }
          const result = { statusCode: res.status, data, header: wxHeaders(res.headers), errMsg: 'request:ok' };
          entry.response = { statusCode: result.statusCode, data: result.data, header: result.header };
          return result;
        })
        .then(
          async (res) => {
            const delay = hooks.responseDelay ? hooks.responseDelay(req) : 0;
            if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
            later(options.success, res); later(options.complete, res);
            settled();
          },
          (err) => {
            const res = { errMsg: 'request:fail ' + (err.cause?.code || err.message) };
            later(options.fail, res); later(options.complete, res);
            settled();
          },
        )
        .finally(() => clearTimeout(timer));
      return { abort: () => controller.abort() };
    },

    // wx storage serialises values and answers '' for a missing key.
    getStorageSync(key) { return storage.has(key) ? structuredClone(storage.get(key)) : ''; },
    setStorageSync(key, value) { storage.set(key, structuredClone(value)); },
    removeStorageSync(key) { storage.delete(key); },

    showToast(options) {
      calls.showToast += 1;
      toasts.push(options);
      if (hooks.toastFails) {
        const res = { errMsg: 'showToast:fail (played by the test)' };
        later(options.fail, res); later(options.complete, res);
      } else {
        later(options.success, { errMsg: 'showToast:ok' }); later(options.complete, { errMsg: 'showToast:ok' });
      }
    },

    showModal(options) {
      calls.showModal += 1;
      later(options && options.success, { errMsg: 'showModal:ok', confirm: false, cancel: true });
    },
  };
  if (privacy) {
    let listener = null;
    const privacyListeners = [];
    const privacyResolutions = [];
    Object.assign(api, {
      privacyListeners, privacyResolutions,
      onNeedPrivacyAuthorization(fn) {
        privacyListeners.push(fn);
        listener = fn;
      },
      needPrivacy(referrer) {
        if (!listener) return Promise.resolve('official-popup');
        return new Promise((settle) => {
          const resolve = (result) => {
            privacyResolutions.push(result);
            if (result && (result.event === 'agree' || result.event === 'disagree')) settle(result);
          };
          listener(resolve, { referrer });
        });
      },
    });
  }
  return api;
}
