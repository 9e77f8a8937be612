// A browser stand-in for the mini-program's `wx`, backed by the local stack: wx.login asks
// the WeChat sandbox for a code for this page's user, wx.request is fetch (every HTTP
// status through `success`, a network failure through `fail`, as WeChat does), storage is
// localStorage, showToast shows on the page. `client/wxlogin.js` runs on it unchanged.
//
// The sandbox is reached through the page's own origin (`/sandbox/…`, proxied by the
// local gateway), as is the API.

const USER_KEY = 'playground.user';

/** POSTs JSON to the sandbox (through the gateway) and returns the parsed answer. */
export async function sandboxPost(path, body) {
  const res = await fetch('/sandbox' + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`sandbox ${path} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** 16 random bytes as base64: a session_key WeChat might hand out. */
export function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The page's WeChat user: kept in localStorage so a reload is the same person. `appid`
 * is the sandbox app they use (the sandbox's default when unset).
 */
export function currentUser() {
  try { return JSON.parse(localStorage.getItem(USER_KEY)) || null; } catch { return null; }
}

export function rememberUser(user) {
  localStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function forgetUser() {
  localStorage.removeItem(USER_KEY);
}

/**
 * A `wx` for the page. `appid()` names the sandbox app a new user logs in to (the
 * sandbox's default when empty). `onRequest(entry)` is told of every wx.request when it
 * ends: `{method, path, status, error, requestId, ms}` (status 0 and `error` for a
 * network failure). `onToast(title)` shows a toast.
 */
export function createStandinWx({ appid = () => '', onRequest = () => {}, onToast = () => {} } = {}) {
  const storagePrefix = 'playground.wx.';
  return {
    login({ success, fail, complete } = {}) {
      (async () => {
        const known = currentUser();
        const body = known ? { openid: known.openid, appid: known.appid } : {};
        if (!known && appid()) body.appid = appid();
        const answer = await sandboxPost('/login', body);
        rememberUser({ openid: answer.openid, unionid: answer.unionid, appid: answer.appid });
        return { code: answer.code, errMsg: 'login:ok' };
      })().then(
        (res) => { success && success(res); complete && complete(res); },
        (err) => {
          const res = { errMsg: 'login:fail ' + err.message };
          fail && fail(res); complete && complete(res);
        },
      );
    },

    request(options) {
      const method = (options.method || 'GET').toUpperCase();
      let url = options.url;
      let body;
      if (options.data !== undefined && options.data !== null) {
        if (method === 'GET') {
          const query = new URLSearchParams(options.data).toString();
          if (query) url += (url.includes('?') ? '&' : '?') + query;
        } else {
          body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
        }
      }
      const headers = { 'content-type': 'application/json', ...(options.header || {}) };
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeout || 60000);
      const started = performance.now();
      const path = new URL(url, location.href).pathname + new URL(url, location.href).search;
      // The body is read inside the same try: a connection that breaks mid-body (or the
      // timeout's abort) is a `fail`, never a request left without any callback.
      (async () => {
        const res = await fetch(url, { method, headers, body, signal: controller.signal });
        const text = await res.text();
        return { res, text };
      })()
        .then(({ res, text }) => {
          let data = text;
          try { data = JSON.parse(text); } catch { /* kept as text */ }
          const header = {};
          res.headers.forEach((value, name) => { header[name] = value; });
          onRequest({
            method, path, status: res.status,
            error: (data && typeof data === 'object' && (data.error || data.message)) || '',
            requestId: res.headers.get('x-request-id') || '',
            ms: Math.round(performance.now() - started),
          });
          return { statusCode: res.status, data, header, errMsg: 'request:ok' };
        })
        .then((result) => {
          options.success && options.success(result);
          options.complete && options.complete(result);
        }, (err) => {
          onRequest({
            method, path, status: 0, error: 'network: ' + err.message, requestId: '',
            ms: Math.round(performance.now() - started),
          });
          const result = { errMsg: 'request:fail ' + err.message };
          options.fail && options.fail(result);
          options.complete && options.complete(result);
        })
        .finally(() => clearTimeout(timer));
      return { abort: () => controller.abort() };
    },

    // wx storage keeps structured values and answers '' for a missing key.
    getStorageSync(key) {
      const raw = localStorage.getItem(storagePrefix + key);
      return raw === null ? '' : JSON.parse(raw);
    },
    setStorageSync(key, value) { localStorage.setItem(storagePrefix + key, JSON.stringify(value)); },
    removeStorageSync(key) { localStorage.removeItem(storagePrefix + key); },

    showToast({ title, success } = {}) {
      onToast(title);
      success && success({ errMsg: 'showToast:ok' });
    },
  };
}

/**
 * What a phone button gives this user now, as its event: `allow` with the current form
 * of getPhoneNumber (a `code`, plus the legacy fields WeChat still sends), `legacy`
 * (`encryptedData` + `iv` only), `realtime` (getRealtimePhoneNumber: a `code` only), or
 * `deny`. An empty pack fails the button on the device with `errno` 1400001, as WeChat's.
 */
export async function phoneButtonEvent(choice, phoneNumber) {
  const realtime = choice === 'realtime';
  const [type, api] = realtime
    ? ['getrealtimephonenumber', 'getRealtimePhoneNumber']
    : ['getphonenumber', 'getPhoneNumber'];
  if (choice === 'deny') {
    return { type, detail: { errMsg: api + ':fail user deny' } };
  }
  const user = currentUser();
  if (!user) throw new Error('log in first: the button belongs to a logged-in user');
  const body = { openid: user.openid, phoneNumber };
  if (user.appid) body.appid = user.appid;
  if (realtime) body.realtime = true;
  const res = await fetch('/sandbox/phone', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (data.errno) return { type, detail: { errMsg: data.errMsg, errno: data.errno } };
  if (!res.ok) throw new Error(`sandbox /phone answered ${res.status}: ${JSON.stringify(data)}`);
  if (realtime) return { type, detail: { errMsg: api + ':ok', code: data.code } };
  const detail = { errMsg: api + ':ok', encryptedData: data.encryptedData, iv: data.iv };
  if (choice === 'allow') detail.code = data.code;
  return { type, detail };
}
