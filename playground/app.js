// The playground page: each button plays a tap of the mini-program through the real
// client (`wxlogin.js`, served unchanged from client/), then shows what it returned or
// threw, the items the server holds for the user, and every request made. One tap at a
// time: every control waits while one runs, as a user waits on a mini-program.

import { createClient } from './wxlogin.js';
import {
  createStandinWx, currentUser, forgetUser, phoneButtonEvent, randomKey, sandboxPost,
} from './wx-standin.js';

const PHONE = '13800138000';
const MAX_LOG_ROWS = 100;
const FAULT_APIS = ['jscode2session', 'getuserphonenumber', 'checksession', 'stable_token'];
const $ = (selector) => document.querySelector(selector);

const standin = createStandinWx({ appid: () => $('#app').value, onRequest: logRequest, onToast: toast });
/** The latest `POST /token` answer, and how many there were: a tap shows whether it asked. */
const tokenAnswers = { count: 0, last: null };
/** The stand-in, with `POST /token`'s answers noted on their way to the client. */
const wx = Object.assign({}, standin, {
  request(options) {
    if (new URL(options.url, location.href).pathname !== '/token') return standin.request(options);
    return standin.request(Object.assign({}, options, {
      success(res) {
        tokenAnswers.count += 1;
        if (res.statusCode === 200 && res.data && typeof res.data === 'object') tokenAnswers.last = res.data;
        if (options.success) options.success(res);
      },
    }));
  },
});
let client = null;
let busy = false;
/** Actions finished so far: a test waits for the next. */
let actionsDone = 0;
/** Refreshes of the items panel started so far: an older answer never replaces a newer. */
let itemsAsked = 0;

/** The client for the chosen app (a stack of several needs the appid on each login). */
function makeClient() {
  const appid = $('#app').value;
  client = createClient({ baseUrl: location.origin, wx, appid: appid || undefined });
}

/** Another device of the same user logs in: WeChat rotates the user's session_key. */
async function loginElsewhere() {
  const user = currentUser();
  if (!user) throw new Error('log in first');
  const body = { openid: user.openid, session_key: randomKey() };
  if (user.appid) body.appid = user.appid;
  const { code } = await sandboxPost('/login', body);
  const started = performance.now();
  const res = await fetch('/onlogin', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, appid: user.appid }),
  });
  const answer = await res.json();
  logRequest({
    method: 'POST', path: '/onlogin (other device)', status: res.status, error: answer.error || '',
    requestId: res.headers.get('x-request-id') || '', ms: Math.round(performance.now() - started),
  });
  return { other_device: { status: res.status, openid: answer.openid, error: answer.error } };
}

async function armFault() {
  const api = $('#fault-api').value;
  const kind = $('#fault-kind').value;
  const fault = kind === 'stall' ? { api, delay_ms: 8000, times: 1 } : { api, errcode: Number(kind), times: 1 };
  await sandboxPost('/faults', fault);
  $('#fault-status').textContent =
    `Armed: the next ${api} call ${kind === 'stall' ? 'stalls 8 s' : 'answers ' + kind} (once).`;
  return { armed: fault };
}

async function clearFaults() {
  for (const api of FAULT_APIS) await sandboxPost('/faults', { api, times: 0 });
  $('#fault-status').textContent = 'No fault armed.';
  return { cleared: FAULT_APIS };
}

/** The next login is another WeChat user: the current session ends first. */
async function newUser() {
  if (client && client.getToken()) await client.logout().catch(() => {});
  forgetUser();
  wx.removeStorageSync('wxlogin.token');
  makeClient();
  return { new_user: 'the next log in is another WeChat user' };
}

/** WeChat pushes a user-data event about the current user to the stack's push URL. */
async function wechatPush(event, revokeInfo) {
  const user = currentUser();
  if (!user) throw new Error('log in first: WeChat pushes about a user it knows');
  const body = { openid: user.openid, event };
  if (user.appid) body.appid = user.appid;
  if (revokeInfo) body.revoke_info = revokeInfo;
  const answer = await sandboxPost('/push', body);
  if (!answer.delivered) throw new Error('the push was not delivered: ' + JSON.stringify(answer.attempts));
  return { wechat_pushed: event, attempts: answer.attempts.length };
}

/** base64url (a JWT's parts) to bytes. */
function base64urlBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
const base64urlJson = (text) => JSON.parse(new TextDecoder().decode(base64urlBytes(text)));

/**
 * What another backend does with the JWT: the discovery document, the JWKS it names, and
 * the RS256 signature checked with the key of the JWT's `kid` (WebCrypto). Fetched from
 * this page's origin: the same gateway as the `issuer`, whatever host name the page uses.
 */
async function verifyLikeABackend(jwt, header, claims) {
  const discovery = await (await fetch('/.well-known/openid-configuration')).json();
  const checked = { issuer: discovery.issuer, iss_matches: claims.iss === discovery.issuer, jwks_uri: discovery.jwks_uri };
  const jwks = await (await fetch(new URL(discovery.jwks_uri, location.href).pathname)).json();
  const jwk = (jwks.keys || []).find((key) => key.kid === header.kid);
  if (!jwk) return { ...checked, signature: `no key ${header.kid} in the JWKS` };
  if (!crypto.subtle) return { ...checked, kid: header.kid, signature: 'not checked: WebCrypto needs http://127.0.0.1 or localhost' };
  const key = await crypto.subtle.importKey('jwk', { kty: jwk.kty, n: jwk.n, e: jwk.e },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  const [head, payload, signature] = jwt.split('.');
  const valid = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, base64urlBytes(signature),
    new TextEncoder().encode(head + '.' + payload));
  return { ...checked, kid: header.kid, signature: valid ? 'valid' : 'INVALID' };
}

/** The access token for the app's other backends: decoded, and checked as one of them would. */
async function accessToken() {
  const asked = tokenAnswers.count;
  const jwt = await client.getAccessToken();
  const [header, claims] = jwt.split('.').slice(0, 2).map(base64urlJson);
  const answer = tokenAnswers.last && tokenAnswers.last.access_token === jwt ? tokenAnswers.last : null;
  let verified;
  try {
    verified = await verifyLikeABackend(jwt, header, claims);
  } catch (error) {
    verified = { error: error.message };
  }
  return {
    access_token: jwt,
    from: tokenAnswers.count > asked ? 'POST /token' : 'memory (no request: cached until shortly before it expires)',
    expires_in: answer ? answer.expires_in : null, // the server's, not exp - iat: iat is set a little early
    header,
    claims,
    verified_here: verified,
    note: 'Other backends verify it with the keys that /.well-known/openid-configuration names (jwks_uri): '
      + 'RS256 signature, iss, aud, exp. It cannot be recalled: logout does not end it before exp.',
  };
}

/** The quick-verification pack used up (as WeChat's 付费管理 would show it), one tap, then
 * the pack refilled: the button fails on the device with errno 1400001. */
async function phoneWithEmptyPack() {
  const user = currentUser();
  const pack = (all, used) => sandboxPost('/charge', { pack: 'quick', all, used, ...(user && user.appid ? { appid: user.appid } : {}) });
  await pack(1000, 1000);
  try {
    return await client.getPhoneNumber(await phoneButtonEvent('allow', PHONE));
  } finally {
    await pack(1000, 0);
  }
}

const ACTIONS = {
  login: () => client.login(),
  'phone-allow': async () => client.getPhoneNumber(await phoneButtonEvent('allow', PHONE)),
  'phone-allow-legacy': async () => client.getPhoneNumber(await phoneButtonEvent('legacy', PHONE)),
  'phone-deny': async () => client.getPhoneNumber(await phoneButtonEvent('deny', PHONE)),
  'phone-realtime': async () => client.getRealtimePhoneNumber(await phoneButtonEvent('realtime', PHONE)),
  'phone-pack-empty': phoneWithEmptyPack,
  whoami: () => client.request({ url: '/session' }),
  check: () => client.checkSession(),
  me: () => client.request({ url: '/me' }),
  'access-token': accessToken,
  elsewhere: loginElsewhere,
  logout: async () => { await client.logout(); return { logged_out: true }; },
  'logout-everywhere': async () => ({ sessions_ended: await client.logoutEverywhere() }),
  'my-data': () => client.getMyData(),
  'delete-account': async () => ({ sessions_ended: await client.deleteAccount() }),
  'wechat-revoke-phone': () => wechatPush('user_authorization_revoke', '8'),
  'wechat-cancel': () => wechatPush('user_authorization_cancellation'),
  'new-user': newUser,
  arm: armFault,
  'clear-faults': clearFaults,
};

/** A token (the session's, or an access token) shown as its ends only: enough to tell two apart. */
function masked(value) {
  if (Array.isArray(value)) return value.map(masked);
  if (!value || typeof value !== 'object') return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    const secret = (key === 'token' || key === 'access_token') && typeof inner === 'string';
    out[key] = secret ? inner.slice(0, 3) + '…' + inner.slice(-3) : masked(inner);
  }
  return out;
}

/** What an action gave, as shown: its value, or the error with the fields a page uses. */
function outcome(action, value, error) {
  if (!error) return { action, returned: value === undefined ? null : masked(value) };
  const threw = { name: error.name, code: error.code, message: error.message };
  for (const key of ['status', 'retry', 'retryAfter', 'stage']) {
    if (error[key] !== undefined) threw[key] = error[key];
  }
  return { action, threw };
}

function setBusy(running) {
  busy = running;
  for (const control of document.querySelectorAll('main button, main select')) {
    control.setAttribute('aria-disabled', String(running));
  }
}

async function run(button) {
  const action = button.dataset.action;
  setBusy(true);
  let shown;
  try {
    shown = outcome(action, await ACTIONS[action]());
  } catch (error) {
    shown = outcome(action, undefined, error);
  }
  await Promise.all([showWho(), showItems()]);
  const result = $('#result');
  result.textContent = JSON.stringify(shown, null, 2);
  result.dataset.action = action;
  result.dataset.outcome = shown.threw ? (shown.threw.code || 'error') : 'ok';
  $('#summary').textContent = shown.threw
    ? `${action}: threw ${shown.threw.code}${shown.threw.retry ? ' (retry: ' + shown.threw.retry + ')' : ''}`
    : `${action}: ok`;
  // Last: a test waiting for this sees the result, the user and the items of this action.
  result.dataset.seq = String(++actionsDone);
  setBusy(false);
}

async function showWho() {
  const session = client.getSession();
  const user = currentUser();
  $('#who').textContent = session
    ? `logged in: openid ${session.openid}${session.unionid ? ', unionid ' + session.unionid : ''}` +
      `${session.phone ? ', phone bound' : ''}`
    : user ? `not logged in (WeChat user ${user.openid})` : 'not logged in';
}

async function showItems() {
  const asked = ++itemsAsked;
  const user = currentUser();
  const query = user ? '?openid=' + encodeURIComponent(user.openid) : '';
  let text;
  try {
    const res = await fetch('/playground/items' + query);
    text = JSON.stringify(await res.json(), null, 2);
  } catch (error) {
    text = 'could not read the table: ' + error.message;
  }
  if (asked === itemsAsked) $('#items').textContent = text;
}

function logRequest({ method, path, status, error, requestId, ms }) {
  const row = document.createElement('tr');
  for (const cell of [method, path, status || 'failed', error, requestId, ms]) {
    const td = document.createElement('td');
    td.textContent = String(cell);
    row.append(td);
  }
  row.dataset.status = String(status);
  const body = $('#requests');
  body.prepend(row);
  while (body.rows.length > MAX_LOG_ROWS) body.deleteRow(body.rows.length - 1);
}

let toastTimer = null;
function toast(title) {
  const element = $('#toast');
  element.textContent = title;
  element.classList.add('shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { element.classList.remove('shown'); element.textContent = ''; }, 4000);
}

/** The sandbox's apps in the picker; a stored user of an app no longer served is dropped. */
async function loadApps() {
  const stats = await (await fetch('/sandbox/stats')).json();
  const appids = Object.keys(stats.apps || {});
  const select = $('#app');
  for (const appid of appids) select.append(new Option(appid, appid));
  const user = currentUser();
  if (user && user.appid && appids.includes(user.appid)) select.value = user.appid;
  else if (user && user.appid) await newUser();
}

document.querySelector('main').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button && !busy) run(button);
});
// Another app is another WeChat user (openids are per app): start afresh.
$('#app').addEventListener('change', async () => {
  if (busy) return;
  setBusy(true);
  await newUser();
  await Promise.all([showWho(), showItems()]);
  setBusy(false);
});

makeClient();
try {
  await loadApps();
  makeClient();
} catch (error) {
  $('#summary').textContent = 'The sandbox did not answer (is make dev running?): ' + error.message;
}
await Promise.all([showWho(), showItems()]);
document.body.dataset.ready = 'true';
