/**
 * wxlogin client for WeChat mini-programs: login through `/onlogin`, authenticated
 * requests that log in again once when the session is gone, both getPhoneNumber forms and
 * real-time verification (getRealtimePhoneNumber), the user's verified phone and
 * first-login flag, logout here or everywhere, a copy of the user's data, account
 * cancellation (注销账号), and short-lived access tokens (JWTs, `POST /token`) for the app's
 * other backends. Plain ES module, no dependencies; uses only `wx.login`, `wx.request`,
 * `wx.getStorageSync` / `setStorageSync` / `removeStorageSync`, `wx.showToast` and, when
 * given `onNeedPrivacy`, `wx.onNeedPrivacyAuthorization`. uni-app and Taro work too:
 * `createClient({ wx: uni })`, `createClient({ wx: Taro })`; the promise a `uni` or `Taro`
 * call may return beside its callbacks is never left to reject unhandled.
 *
 * The access token is for the app's OTHER backends (any language, or API Gateway's JWT
 * authorizer): send it as `Authorization: Bearer <JWT>`; they verify it with the keys
 * named by `<baseUrl>/.well-known/openid-configuration`. It lives minutes (`expires_in`:
 * 15 minutes unless the stack says otherwise) and cannot be recalled before it expires:
 * logout ends the session, not a JWT already handed out. The client keeps it in memory
 * only and asks for a new one shortly before it runs out.
 *
 * @example
 * import { createClient } from './wxlogin.js';
 * const api = createClient({ baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com' });
 * const me = await api.request({ url: '/session' }); // me.phone once the user verified one
 * // <button wx:if="{{!me.phone}}" open-type="getPhoneNumber" bindgetphonenumber="onPhone">
 * async onPhone(e) { const { phoneNumber } = await api.getPhoneNumber(e); }
 * // Agreement to the privacy guide (用户隐私保护指引) and the number in one tap:
 * // <button id="agree-btn" open-type="getPhoneNumber|agreePrivacyAuthorization"
 * //   bindgetphonenumber="onPhone" bindagreeprivacyauthorization="onAgree">
 * // <button open-type="getRealtimePhoneNumber" bindgetrealtimephonenumber="onRealtimePhone">
 * async onRealtimePhone(e) { const { phoneNumber } = await api.getRealtimePhoneNumber(e); }
 * // another backend of the app, which verifies the JWT itself:
 * wx.request({ url: 'https://orders.example.com/orders', header: {
 *   Authorization: `Bearer ${await api.getAccessToken()}` } });
 * @module wxlogin
 */

/** What the default `onTapAgain` shows. */
export const TAP_AGAIN_TEXT = '请再点一次获取手机号';

/**
 * The phone buttons' `detail.errno` when the mini-program's prepaid phone-verification pack
 * is used up (WeChat bills each verification since 2023-08-28).
 */
const PACK_EMPTY_ERRNO = 1400001;

/**
 * The phone buttons' `detail.errno` when WeChat withheld the number because the user has
 * not agreed to the mini-program's privacy guide (用户隐私保护指引), or refused it
 * (`errMsg` "…:fail privacy permission is not authorized").
 */
const PRIVACY_DENIED_ERRNO = 104;

/**
 * The phone buttons' `detail.errno` when the privacy guide does not declare the phone
 * number (`errMsg` "…:fail api scope is not declared in the privacy agreement").
 */
const PRIVACY_UNDECLARED_ERRNO = 112;

/**
 * How long before its end a cached access token is renewed: 10% of its lifetime, at least
 * a minute, at most half of it (a 1-minute token is still reused for 30 s).
 */
const RENEW_SHARE = 0.1;
const RENEW_MIN_MS = 60 * 1000;
/** The longest a 429 / 503 of `POST /token` is answered again from memory (its Retry-After). */
const MAX_HOLD_MS = 5 * 60 * 1000;

/**
 * Every failure of this module. `code` is the server's stable error code (`invalid_token`,
 * `session_key_mismatch`, `rate_limited`, `signing_unavailable`, …, see the API contract)
 * or a client code:
 * `network_error` (wx.request failed), `wx_login_failed` (wx.login failed), `user_denied`
 * (the user refused the phone number), `phone_pack_empty` (the phone button failed with
 * errno 1400001: the mini-program's prepaid phone-verification pack is used up; nobody can
 * verify a number until the operator buys one), `privacy_denied` (the phone button failed
 * with errno 104: the user has not agreed to the mini-program's privacy guide, or refused
 * it), `privacy_not_declared` (errno 112: the privacy guide configured at mp.weixin.qq.com
 * does not declare the phone number, so the button fails for everyone until it does),
 * `invalid_event` (no phone data in the event, or a real-time event without a code),
 * `bad_response` (a 2xx answer without the expected fields), `http_error` (a non-2xx
 * answer without the `{error, message}` body, such as API Gateway's own 5xx; its own 429
 * throttling is `rate_limited`), `logged_out` (logout(), logoutEverywhere() or
 * deleteAccount() ran during a login, or while getAccessToken() was fetching a token).
 */
export class WxLoginError extends Error {
  /**
   * @param {string} code stable machine-readable code.
   * @param {string} message human-readable text.
   * @param {object} [extra]
   * @param {number} [extra.status] HTTP status; 0 when there was no HTTP answer.
   * @param {number} [extra.retryAfter] seconds to wait, from `retry-after` (429).
   * @param {string} [extra.requestId] the server's `x-request-id`, for its logs.
   * @param {'login'|'request'} [extra.stage] `'login'` when it happened while logging in.
   * @param {*} [extra.cause] the underlying error or wx callback result.
   */
  constructor(code, message, extra) {
    super(message);
    const x = extra || {};
    this.name = 'WxLoginError';
    /** @type {string} */ this.code = code;
    /** @type {number} */ this.status = x.status || 0;
    /** @type {number|undefined} */ this.retryAfter = x.retryAfter;
    /** @type {string|undefined} */ this.requestId = x.requestId;
    /** @type {'login'|'request'} */ this.stage = x.stage || 'request';
    /** `'tap_again'` when the user should tap the phone button once more. */
    /** @type {'tap_again'|undefined} */ this.retry = undefined;
    if (x.cause !== undefined) this.cause = x.cause;
  }
}

function headerValue(header, name) {
  for (const key in header || {}) if (key.toLowerCase() === name) return String(header[key]);
  return undefined;
}

function responseError(res, stage) {
  const body = res.data && typeof res.data === 'object' ? res.data : {};
  const retryAfter = parseInt(headerValue(res.header, 'retry-after'), 10);
  return new WxLoginError(
    // API Gateway's own throttling answers 429 {"message": "Too Many Requests"}, not our
    // shape: it is still a rate limit to the caller.
    typeof body.error === 'string' ? body.error : res.statusCode === 429 ? 'rate_limited' : 'http_error',
    typeof body.message === 'string' ? body.message : 'HTTP ' + res.statusCode,
    { status: res.statusCode, retryAfter: retryAfter >= 0 ? retryAfter : undefined,
      requestId: headerValue(res.header, 'x-request-id'), stage, cause: res.data },
  );
}

const isOk = (res) => res.statusCode >= 200 && res.statusCode < 300;
const isPhone = (p) => !!p && typeof p === 'object' && typeof p.phoneNumber === 'string';
const isInvalidToken = (res) =>
  res.statusCode === 401 && !!res.data && res.data.error === 'invalid_token';
// API Gateway's answer when the wxlogin authorizer refuses the token on a route behind it.
const isAuthorizerDenial = (res) => res.statusCode === 403 && !!res.data
  && typeof res.data === 'object' && res.data.message === 'Forbidden' && res.data.error === undefined;
/** The token was refused: by one of our routes, or by the authorizer in front of yours. */
const isRefusedToken = (res) => isInvalidToken(res) || isAuthorizerDenial(res);

/**
 * Subscribes to the promise a wx-like call may return beside its callbacks, so that its
 * rejection is never unhandled. Taro's calls return one that rejects on failure even
 * when `fail` is given (after calling `fail`); uni-app's return one when the app has an
 * `invoke` interceptor on the API, and if that interceptor rejects, neither callback is
 * ever called. `onReject` (default: nothing) gets such a rejection: where it settles a
 * promise the callbacks have settled already, it changes nothing, and otherwise it keeps
 * that promise from waiting for good. Returns `result` as it was.
 */
function quiet(result, onReject) {
  try {
    if (result && typeof result.then === 'function') result.then(undefined, onReject || (() => {}));
  } catch (e) { /* a thenable that cannot be subscribed to cannot reject either */ }
  return result;
}

/** The text of a wx-like failure: its `errMsg`, or an Error's message. */
function failureText(r, otherwise) {
  return (r && (r.errMsg || r.message)) || otherwise;
}

/**
 * The `POST /decrypt-phone` body for a phone button's event `detail`; throws, before any
 * network call, when the button failed or the event holds nothing to send.
 * @param {object} d the event's detail.
 * @param {boolean} realtime the getRealtimePhoneNumber button (code form only).
 */
function phoneRequest(d, realtime) {
  const button = realtime ? 'getRealtimePhoneNumber' : 'getPhoneNumber';
  if (Number(d.errno) === PACK_EMPTY_ERRNO) {
    const pack = realtime ? '手机号实时验证组件' : '手机号快速验证组件';
    throw new WxLoginError('phone_pack_empty', button + ' failed with errno ' + PACK_EMPTY_ERRNO
      + ': the mini-program\'s phone-verification pack (' + pack + ') is used up. No user can verify'
      + ' a number with this button until the operator buys a pack in the WeChat admin console'
      + ' (mp.weixin.qq.com → 付费管理 → ' + pack + ').'
      + (typeof d.errMsg === 'string' ? ' WeChat said: ' + d.errMsg : ''), { cause: d });
  }
  const errMsg = typeof d.errMsg === 'string' ? d.errMsg : '';
  const said = errMsg ? ' WeChat said: ' + errMsg : '';
  const banned = /privacy api banned/.test(errMsg);
  if (Number(d.errno) === PRIVACY_UNDECLARED_ERRNO || banned
    || /not declared in the privacy agreement/.test(errMsg)) {
    throw new WxLoginError('privacy_not_declared', button + ' failed'
      + (banned
        ? ': WeChat has withdrawn the mini-program\'s privacy APIs (a version was submitted as'
          + ' collecting no personal information (未采集隐私), or without a privacy guide).'
        : ' with errno ' + PRIVACY_UNDECLARED_ERRNO + ': the mini-program\'s privacy guide'
          + ' (用户隐私保护指引) does not declare that it collects the phone number.')
      + ' WeChat refuses this button to every user until the guide declares it. Fix it in the WeChat admin'
      + ' console, not in code: mp.weixin.qq.com → 设置 → 服务内容声明 → 用户隐私保护指引 → 更新,'
      + ' declare 手机号 (收集你的手机号) with its purpose, and submit; WeChat applies an added'
      + ' declaration within about 5 minutes.'
      + (banned ? ' When submitting a version for review, do not declare it collects nothing.' : '')
      + said, { cause: d });
  }
  if (Number(d.errno) === PRIVACY_DENIED_ERRNO || /privacy permission is not auth/.test(errMsg)) {
    throw new WxLoginError('privacy_denied', button + ' failed'
      + (Number(d.errno) === PRIVACY_DENIED_ERRNO ? ' with errno ' + PRIVACY_DENIED_ERRNO : '')
      + ': the user has not agreed to the mini-program\'s privacy guide (用户隐私保护指引), or'
      + ' refused it, so WeChat gave no phone number. The next tap asks again (WeChat\'s own'
      + ' privacy popup, or the app\'s onNeedPrivacy), except within 10 s of a refusal; a button'
      + ' with open-type="' + button + '|agreePrivacyAuthorization" takes the agreement and the'
      + ' number in one tap.' + said, { cause: d });
  }
  if (errMsg && !/:ok$/.test(errMsg)) {
    throw new WxLoginError('user_denied', errMsg, { cause: d });
  }
  if (d.code) return realtime ? { code: d.code, realtime: true } : { code: d.code };
  if (realtime) {
    throw new WxLoginError('invalid_event', d.encryptedData
      ? 'getRealtimePhoneNumber: the event has encryptedData but no code; real-time verification'
        + ' has no legacy encrypted form (a getPhoneNumber event? pass it to getPhoneNumber())'
      : 'getRealtimePhoneNumber: no code in the event', { cause: d });
  }
  if (d.encryptedData && d.iv) return { encryptedData: d.encryptedData, iv: d.iv };
  throw new WxLoginError('invalid_event', 'no code nor encryptedData/iv in the event');
}

/**
 * @typedef {{phoneNumber: string, purePhoneNumber: string, countryCode: string}} PhoneNumber
 * @typedef {{token: string, expires_in: number, appid: string, openid: string,
 *   unionid?: string, new_user: boolean, phone?: PhoneNumber}} LoginResult
 *   the `/onlogin` answer: `new_user` on the user's first login; `phone` once the user has
 *   verified a number (WeChat bills each verification: do not ask again).
 * @typedef {{appid: string, openid: string, unionid?: string, expires_in: number,
 *   phone?: PhoneNumber, phone_verified_by?: 'legacy'|'code'|'realtime',
 *   phone_verified_at?: number, risk_rank?: number}} SessionInfo
 *   the `GET /session` answer: how and when (epoch seconds) the number was verified, and
 *   WeChat's risk rank at sign-up (0-4) when the stack records it.
 * @typedef {{appid?: string, openid: string, unionid?: string, newUser: boolean,
 *   phone?: PhoneNumber, expiresAt?: number}} StoredSession
 *   what the client knows of its session without asking the server: `newUser` when the
 *   login that made this session was the user's first, `phone` the verified number as of
 *   that login (or of a later getPhoneNumber / getRealtimePhoneNumber / checkSession),
 *   `expiresAt` in epoch ms.
 * @typedef {{appid: string, openid: string, unionid?: string, created_at: number,
 *   last_login_at: number, kept_until?: number,
 *   phone?: PhoneNumber & {verified_at: number, verified_by: 'legacy'|'code'|'realtime'},
 *   risk?: {rank: number, checked_at: number},
 *   sessions: Array<{created_at: number, expires_at: number, current: boolean}>,
 *   quotas: {phone_verifications_today?: {used: number, limit: number, resets_at: number}}}}
 *   AccountData what `GET /account` answers; times in epoch seconds.
 * @typedef {{url: string, method?: string, data?: *, header?: Object<string, string>,
 *   auth?: boolean}} RequestOptions
 * @typedef {{event: 'agree', buttonId: string}|{event: 'disagree'}|{event: 'exposureAuthorization'}}
 *   PrivacyResolution what an `onNeedPrivacy` handler passes to WeChat's `resolve`: `agree`
 *   with the id of the `open-type="agreePrivacyAuthorization"` button the user tapped,
 *   `disagree`, or (optionally, before either) `exposureAuthorization` when the app's
 *   agreement UI is on screen.
 * @typedef {object} Client
 * @property {() => Promise<LoginResult>} login
 * @property {(options: RequestOptions) => Promise<*>} request
 * @property {(event: object) => Promise<PhoneNumber>} getPhoneNumber
 * @property {(event: object) => Promise<PhoneNumber>} getRealtimePhoneNumber
 * @property {() => Promise<SessionInfo>} checkSession
 * @property {() => Promise<void>} logout
 * @property {() => Promise<number>} logoutEverywhere
 * @property {() => Promise<number>} deleteAccount
 * @property {() => Promise<AccountData>} getMyData
 * @property {() => Promise<string>} getAccessToken
 * @property {() => (string|null)} getToken
 * @property {() => (StoredSession|null)} getSession
 */

/**
 * Creates a client bound to one wxlogin deployment. Keep one per app (e.g. in app.js):
 * the single-flight login is per client.
 *
 * @param {object} options
 * @param {string} options.baseUrl the API's base URL (the SAM output `ApiUrl`, or
 *   `http://127.0.0.1:9200` locally); request paths are appended to it.
 * @param {string} [options.storageKey='wxlogin.token'] wx storage key of the session.
 * @param {object} [options.wx=globalThis.wx] the mini-program API object (tests pass a fake).
 * @param {number} [options.timeout] wx.request timeout in ms (WeChat's default: 60000).
 * @param {string} [options.appid] the mini-program's appid, sent with every login. A stack
 *   serving several mini-programs needs to know which one is logging in: WeChat's Referer
 *   says so on a mini-program's own `wx.request`, and this says so everywhere else (a
 *   web-view, tests, a proxy that drops the Referer).
 * @param {((err: WxLoginError) => void)|null} [options.onTapAgain] called when the user
 *   must tap the phone button (getPhoneNumber or getRealtimePhoneNumber) again; default: a
 *   toast with {@link TAP_AGAIN_TEXT}; `null` shows nothing.
 * @param {() => number} [options.now=Date.now] the clock, in epoch ms (tests pass a fake
 *   one to age sessions and access tokens).
 * @param {((resolve: (result: PrivacyResolution) => void, eventInfo: {referrer: string}) => void)|null}
 *   [options.onNeedPrivacy] the app's own privacy-agreement UI. When given and
 *   `wx.onNeedPrivacyAuthorization` exists (base library 2.32.3+), createClient registers
 *   one listener that calls it each time WeChat holds back a privacy API or button (the
 *   phone buttons among them) because the user has not agreed to the privacy guide
 *   (用户隐私保护指引); `eventInfo.referrer` names it (`'button.getPhoneNumber'`). Show the
 *   agreement with a `<button id="agree-btn" open-type="agreePrivacyAuthorization"
 *   bindagreeprivacyauthorization="onAgree">`, and from `onAgree` call
 *   `resolve({ event: 'agree', buttonId: 'agree-btn' })` (WeChat checks that this button
 *   was tapped), or `resolve({ event: 'disagree' })` when the user declines (the held-back
 *   button then fails: `privacy_denied`). Every call must resolve one way or the other; one
 *   that throws is resolved `disagree`, and its error rethrown. WeChat keeps one listener
 *   per mini-program: the last registered wins. Default (undefined) and `null`: nothing is
 *   registered, and WeChat's own privacy popup asks the user and then continues the button
 *   (a listener that only refused would take that popup away); `null` says the app
 *   registers its listener itself.
 * @returns {Client}
 */
export function createClient(options) {
  const opts = options || {};
  const baseUrl = String(opts.baseUrl || '').replace(/\/+$/, '');
  const wxApi = opts.wx || (typeof wx === 'object' ? wx : undefined); // eslint-disable-line no-undef
  if (!baseUrl) throw new TypeError('createClient: baseUrl is required');
  if (!wxApi) throw new TypeError('createClient: no wx object (pass options.wx)');
  if (opts.appid !== undefined && (typeof opts.appid !== 'string' || !opts.appid)) {
    throw new TypeError('createClient: appid must be a non-empty string, such as "wx4f4bc4dec97d474b"');
  }
  if (opts.now !== undefined && typeof opts.now !== 'function') {
    throw new TypeError('createClient: now must be a function returning epoch ms, such as Date.now');
  }
  const onNeedPrivacy = opts.onNeedPrivacy;
  if (onNeedPrivacy !== undefined && onNeedPrivacy !== null && typeof onNeedPrivacy !== 'function') {
    throw new TypeError('createClient: onNeedPrivacy must be a function (resolve, eventInfo) => void, or null');
  }
  if (onNeedPrivacy && typeof wxApi.onNeedPrivacyAuthorization === 'function') {
    // Once per client, here. Older base libraries (and stand-ins) have no such API and no
    // privacy check either: nothing to register.
    quiet(wxApi.onNeedPrivacyAuthorization((resolve, eventInfo) => {
      try {
        onNeedPrivacy(resolve, eventInfo);
      } catch (e) {
        // Unresolved, the held-back button would wait for good: refuse it, then report.
        try { resolve({ event: 'disagree' }); } catch (ignored) { /* resolved already */ }
        throw e;
      }
    }));
  }
  const now = opts.now || (() => Date.now());
  const storageKey = opts.storageKey || 'wxlogin.token';
  const onTapAgain = opts.onTapAgain === undefined
    ? () => quiet(wxApi.showToast({ title: TAP_AGAIN_TEXT, icon: 'none' }))
    : opts.onTapAgain;
  let loginInFlight = null;
  let generation = 0; // bumped by logout*(): a login that started before it is discarded
  // The access token (JWT) lives in this closure only, never in wx storage: it cannot be
  // recalled, so it must not outlive the process and the session it came from.
  /** @type {{jwt: string, session: string, sentAt: number, lifetime: number}|null} */
  let accessToken = null;
  let accessTokenInFlight = null;
  let accessEpoch = 0; // bumped when a JWT being fetched may carry stale claims
  /** A 429 / 503 of POST /token, answered from memory until its Retry-After has passed. */
  let accessHold = null;

  /** The stored session object (with a token), expired or not; null for none or a bare token. */
  function storedRecord() {
    let value;
    try { value = wxApi.getStorageSync(storageKey); } catch (e) { return null; }
    return value && typeof value === 'object' && typeof value.token === 'string' && value.token
      ? value : null;
  }

  function stored(includeExpired) {
    let value;
    try { value = wxApi.getStorageSync(storageKey); } catch (e) { return null; }
    if (typeof value === 'string') return value || null; // a bare token (or '' = none)
    if (!value || typeof value.token !== 'string' || !value.token) return null;
    if (!(value.expiresAt <= now())) return value.token;
    // Expired: the server refuses it anyway, and the record holds the user's openid and
    // phone number, which are kept no longer than the session.
    if (!includeExpired) clearToken();
    return includeExpired ? value.token : null;
  }

  /** Records the user's verified phone (or its absence) on the stored session of `token`. */
  function rememberPhone(token, phone) {
    const record = storedRecord();
    if (!record || record.token !== token) return; // another session is stored by now
    const number = (p) => (isPhone(p) ? p.phoneNumber : null);
    if (number(record.phone) !== number(phone)) dropAccessToken(); // its phone claims changed
    if (isPhone(phone)) record.phone = phone;
    else delete record.phone;
    try { wxApi.setStorageSync(storageKey, record); } catch (e) { /* a cache, not the truth */ }
  }

  /**
   * Best effort: ends the server session of a token this client no longer uses, so it
   * cannot be replayed. Never awaited, never rejects.
   */
  function retire(token) {
    send('DELETE', '/session', undefined, token, {}, 'request').then(null, () => {});
  }

  function clearToken(onlyIf) {
    if (onlyIf && stored(true) !== onlyIf) return;
    try { wxApi.removeStorageSync(storageKey); } catch (e) { /* nothing to clear */ }
  }

  function send(method, path, data, token, header, stage) {
    const headers = Object.assign({}, header);
    for (const key in headers) if (key.toLowerCase() === 'authorization') delete headers[key];
    if (token) headers.authorization = 'Bearer ' + token;
    return new Promise((resolve, reject) => {
      const failed = (err) => reject(new WxLoginError('network_error',
        failureText(err, 'wx.request failed'), { stage, cause: err }));
      const req = { url: baseUrl + path, method, header: headers, dataType: 'json',
        success: resolve, fail: failed };
      if (data !== undefined) req.data = data;
      if (opts.timeout) req.timeout = opts.timeout;
      quiet(wxApi.request(req), failed);
    });
  }

  function wxLoginCode() {
    return new Promise((resolve, reject) => {
      const failed = (r) => reject(new WxLoginError('wx_login_failed',
        failureText(r, 'wx.login gave no code'), { stage: 'login', cause: r }));
      quiet(wxApi.login({ success: (r) => (r && r.code ? resolve(r.code) : failed(r)), fail: failed }), failed);
    });
  }

  async function doLogin() {
    const started = generation;
    const previous = stored(false); // a live token this login replaces
    const request = { code: await wxLoginCode() };
    if (opts.appid) request.appid = opts.appid;
    const res = await send('POST', '/onlogin', request, null, {}, 'login');
    if (!isOk(res)) throw responseError(res, 'login');
    const body = res.data || {};
    if (typeof body.token !== 'string' || !body.token) {
      throw new WxLoginError('bad_response', '/onlogin answered without a token',
        { status: res.statusCode, stage: 'login', cause: body });
    }
    if (started !== generation) {
      retire(body.token); // nobody will use it: end it rather than leave it live
      throw new WxLoginError('logged_out', 'logout(), logoutEverywhere() or deleteAccount() was called during this login', { stage: 'login' });
    }
    const session = { token: body.token, openid: body.openid, newUser: body.new_user === true };
    if (typeof body.unionid === 'string') session.unionid = body.unionid;
    if (typeof body.appid === 'string') session.appid = body.appid;
    if (isPhone(body.phone)) session.phone = body.phone;
    if (body.expires_in > 0) session.expiresAt = now() + body.expires_in * 1000;
    wxApi.setStorageSync(storageKey, session);
    if (previous && previous !== body.token) retire(previous);
    return body;
  }

  /**
   * wx.login, then `POST /onlogin`; stores the session under `storageKey`. Calls made
   * while a login is under way share it (one wx.login: a second wx.login would void the
   * first code). When it replaces a live stored token, that token's server session is
   * ended in the background (best effort: never awaited, never an error).
   * @returns {Promise<LoginResult>} the `/onlogin` answer, `new_user` and `phone` included.
   */
  function login() {
    if (!loginInFlight) {
      const current = doLogin();
      const done = () => { if (loginInFlight === current) loginInFlight = null; };
      current.then(done, done);
      loginInFlight = current;
    }
    return loginInFlight;
  }

  /** Replaces the stored session (its session_key is stale) and ends the old one. */
  async function freshLogin() {
    const previous = stored(false);
    clearToken();
    try {
      return await login();
    } finally {
      if (previous) retire(previous); // forgotten here either way: end it on the server too
    }
  }

  /** A token to replace `stale`, which the server refused: one login for all callers. */
  async function relogin(stale) {
    const current = stored(false);
    if (current && current !== stale) return current; // someone logged in meanwhile
    clearToken(stale);
    return (await login()).token;
  }

  /**
   * wx.request to `baseUrl + url` with `Authorization: Bearer <token>`. Logs in first when
   * no (unexpired) session is stored; on 401 `invalid_token` (our routes), or 403
   * `{"message": "Forbidden"}` (API Gateway, when the wxlogin authorizer refuses the token
   * on a route behind it), logs in again, once, and retries once. A call never logs in
   * more than once, nor again after logout(), logoutEverywhere() or deleteAccount() ran
   * during it: then it retries once with a session logged in since, if any, else the
   * refusal rejects.
   * @param {RequestOptions} options `url`: a path under baseUrl (`'/session'`); `method`
   *   (GET); `data`: query parameters for GET, JSON body otherwise (as wx.request);
   *   `header`: extra headers; `auth: false` sends no token and never logs in.
   * @returns {Promise<*>} the parsed body of a 2xx answer; rejects with a WxLoginError.
   */
  async function request(options) {
    const res = (await authorized(options)).res;
    if (!isOk(res)) throw responseError(res, 'request');
    return res.data;
  }

  /**
   * request()'s work: the final answer, the token it carried, whether this call logged in,
   * and when (now()) that final request was sent.
   */
  async function authorized(options) {
    const o = options || {};
    if (typeof o.url !== 'string' || o.url.charAt(0) !== '/') {
      throw new TypeError('wxlogin: url must be a path under baseUrl, such as "/session"');
    }
    const method = String(o.method || 'GET').toUpperCase();
    let sentAt = 0;
    const go = (token) => {
      sentAt = now();
      return send(method, o.url, o.data, token, o.header, 'request');
    };
    if (o.auth === false) return { res: await go(null), token: null, loggedIn: false, sentAt };
    const started = generation;
    let token = stored(false);
    const fresh = !token;
    if (fresh) token = (await login()).token;
    let res = await go(token);
    let loggedIn = fresh;
    if (!fresh && isRefusedToken(res)) {
      if (started === generation) {
        res = await go((token = await relogin(token)));
        loggedIn = true;
      } else {
        // A logout meanwhile (the refusal may be its doing): never log the user back in,
        // but a login since then (the user's own) has a session to retry with, once.
        const current = stored(false);
        if (current && current !== token) res = await go((token = current));
      }
    }
    if (isRefusedToken(res)) clearToken(token);
    return { res, token, loggedIn, sentAt };
  }

  function tapAgain(err) {
    err.retry = 'tap_again';
    try { if (onTapAgain) onTapAgain(err); } catch (e) { /* a UI hook must not mask err */ }
  }

  /**
   * Turns the getPhoneNumber button's event into the phone number (`POST /decrypt-phone`),
   * sending `detail.code` when present, else `encryptedData` + `iv`.
   * Rejects with `user_denied` (no network) when the user refused, and with
   * `phone_pack_empty` (no network) when WeChat failed the button with errno 1400001: the
   * mini-program's prepaid pack (手机号快速验证组件) is used up, and no user can verify a
   * number until the operator buys one at mp.weixin.qq.com → 付费管理. Errno 104 (the user
   * has not agreed to the privacy guide, or refused it) rejects with `privacy_denied`, and
   * errno 112 (the privacy guide does not declare the phone number: fix it at
   * mp.weixin.qq.com, the message says where) with `privacy_not_declared`; neither sends
   * anything nor calls `onTapAgain`. When the data is stale
   * (422 `session_key_mismatch`: logs in again first) or the phone code was used or expired
   * (401 `invalid_code`), calls `onTapAgain` and rejects with `err.retry === 'tap_again'`:
   * the next tap works. If that re-login fails, its error is the rejection instead.
   * The number is remembered on the stored session ({@link getSession}`().phone`).
   * @param {{detail: {errMsg: string, errno?: number, code?: string, encryptedData?: string,
   *   iv?: string}}} event the `bindgetphonenumber` event (its `detail` alone is accepted too).
   * @returns {Promise<PhoneNumber>}
   */
  function getPhoneNumber(event) {
    return decryptPhone(event, false);
  }

  /**
   * Turns the getRealtimePhoneNumber button's event (手机号实时验证: WeChat checks the
   * number with the carrier at each tap) into the phone number: `POST /decrypt-phone` with
   * `{code, realtime: true}`. Everything else is as {@link getPhoneNumber}'s code form:
   * `user_denied`, `phone_pack_empty` (here the 手机号实时验证组件 pack), `privacy_denied`,
   * `privacy_not_declared`, tap again on 401
   * `invalid_code`, the number remembered on the stored session. There is no legacy form:
   * an event without a code (encryptedData alone included) rejects with `invalid_event`.
   * @param {{detail: {errMsg: string, errno?: number, code?: string}}} event the
   *   `bindgetrealtimephonenumber` event (its `detail` alone is accepted too).
   * @returns {Promise<PhoneNumber>}
   */
  function getRealtimePhoneNumber(event) {
    return decryptPhone(event, true);
  }

  /** Both phone buttons' work: the event's body to `/decrypt-phone`, and the retries. */
  async function decryptPhone(event, realtime) {
    const data = phoneRequest((event && event.detail) || event || {}, realtime);
    const answer = await authorized({ url: '/decrypt-phone', method: 'POST', data });
    if (isOk(answer.res)) {
      dropAccessToken(); // a new verification: a JWT minted before it has stale phone claims
      if (isPhone(answer.res.data)) rememberPhone(answer.token, answer.res.data);
      return answer.res.data;
    }
    const err = responseError(answer.res, 'request');
    if (err.code === 'session_key_mismatch') {
      // The data was sealed with an older session_key. If this very call logged in, that
      // login already holds the current key: only the data is stale. Otherwise log in now
      // (if that fails, its error rejects instead: no tap can work yet).
      if (!answer.loggedIn) await freshLogin();
      tapAgain(err);
    } else if (err.code === 'invalid_code' && data.code) {
      tapAgain(err);
    }
    throw err;
  }

  /**
   * Checks the session with the server and WeChat (`GET /session?check=wechat`) and repairs
   * it: logs in when there is no valid session, and again when WeChat has rotated the
   * session_key (422; the replaced session is ended in the background). Call it on launch
   * or before showing a legacy getPhoneNumber button. The answer's `phone` (present or not)
   * updates {@link getSession}`().phone`.
   * @returns {Promise<SessionInfo>} the (new) session.
   */
  async function checkSession() {
    let answer = await authorized({ url: '/session', data: { check: 'wechat' } });
    if (!isOk(answer.res)) {
      const err = responseError(answer.res, 'request');
      if (err.code !== 'session_key_mismatch') throw err;
      await freshLogin();
      answer = await authorized({ url: '/session' });
      if (!isOk(answer.res)) throw responseError(answer.res, 'request');
    }
    rememberPhone(answer.token, answer.res.data && answer.res.data.phone);
    return answer.res.data;
  }

  /**
   * Forgets the session here: the stored one, a login under way (it will be discarded), the
   * access token in memory and one being fetched (rejected with `logged_out`).
   */
  function forgetSession() {
    generation += 1;
    loginInFlight = null;
    clearToken();
    dropAccessToken();
    accessHold = null;
  }

  /**
   * Ends the session: forgets the stored token (and the access token) at once, then
   * `DELETE /session`. Resolves
   * when the server ended it or already had (401 `invalid_token`), or when no token was
   * stored (no network call). Rejects only if the server could not be told (network,
   * 5xx); the local token is gone either way.
   * @returns {Promise<void>}
   */
  async function logout() {
    const token = stored(true);
    forgetSession();
    if (!token) return;
    const res = await send('DELETE', '/session', undefined, token, {}, 'request');
    if (!isOk(res) && !isInvalidToken(res)) throw responseError(res, 'request');
  }

  /**
   * `DELETE path` as this user: the stored token is forgotten first (even if the server
   * cannot be told, then it rejects). Logs in first when no unexpired token is stored, and
   * once more if the stored one was already dead, so the server always gets the request.
   * @returns {Promise<*>} the 2xx answer.
   */
  async function deleteAsUser(path) {
    let token = stored(false);
    let loggedIn = !token;
    if (loggedIn) token = (await login()).token;
    const call = () => send('DELETE', path, undefined, token, {}, 'request');
    forgetSession();
    let res = await call();
    if (isInvalidToken(res) && !loggedIn) {
      token = (await login()).token;
      loggedIn = true;
      forgetSession();
      res = await call();
    }
    if (!isOk(res)) throw responseError(res, 'request');
    return res;
  }

  /**
   * Ends every session of this WeChat user, on every device, this one included
   * (`DELETE /session?all=true`): each of their tokens is refused at once by every route
   * and by the authorizer. Logs in first when no unexpired token is stored, and once more
   * if the stored one was already dead (say another device logged out everywhere), so the
   * other devices are always reached. The stored token is forgotten either way, even when
   * the server could not be told (then it rejects).
   * @returns {Promise<number>} how many sessions ended (at least 1: this one).
   */
  async function logoutEverywhere() {
    const res = await deleteAsUser('/session?all=true');
    const sessions = res.data && res.data.sessions;
    if (typeof sessions !== 'number') {
      // A server older than ?all=true ignores it and ends this session only.
      throw new WxLoginError('bad_response', 'DELETE /session?all=true answered without a sessions count',
        { status: res.statusCode, cause: res.data });
    }
    return sessions;
  }

  /**
   * Cancels the user's account (注销账号, `DELETE /account`): the server erases everything
   * it stores about them in this mini-program (the user, their phone number, every
   * session on every device, their quota counters), keeping only an audit record that
   * names no one. Everything this client stored is forgotten, even when the server could
   * not be told (then it rejects: call it again). Logs in first when no unexpired session
   * is stored, so the account is always reached. A later login starts a brand-new user.
   * @returns {Promise<number>} how many sessions ended (at least 1: this one).
   */
  async function deleteAccount() {
    const res = await deleteAsUser('/account');
    const data = res.data || {};
    if (data.deleted !== true || typeof data.sessions !== 'number') {
      throw new WxLoginError('bad_response', 'DELETE /account answered without {deleted, sessions}',
        { status: res.statusCode, cause: res.data });
    }
    return data.sessions;
  }

  /**
   * A copy of everything the server stores about the user (`GET /account`, PIPL's right
   * to a copy): appid, openid, unionid, the phone number and when and how it was
   * verified, `created_at`, `last_login_at`, the live sessions' times, the quotas in
   * force. Logs in first when needed, as {@link request}.
   * @returns {Promise<AccountData>}
   */
  function getMyData() {
    return request({ url: '/account' });
  }

  /**
   * A short-lived access token (a JWT, RS256) for the app's OTHER backends: send it to them
   * as `Authorization: Bearer <JWT>`; they verify it with the keys that
   * `<baseUrl>/.well-known/openid-configuration` names (`jwks_uri`), as API Gateway's JWT
   * authorizer does. Its claims: `iss` (the stack), `sub` (the openid), `aud`, `appid`,
   * `unionid` when known, `phone_number` and `phone_number_verified` when a number is
   * bound, `iat`, `exp`, `jti`.
   *
   * `POST /token` with the session token, as {@link request}: logs in first when no
   * unexpired session is stored; on 401 `invalid_token` logs in again, once, and retries
   * once. The JWT is kept in memory only (never in wx storage: it cannot be recalled, so
   * it must not outlive this process or its session) and handed out again until 10% of
   * its lifetime (at least a minute, at most half) is left; that is measured with the local
   * clock from when the request was sent, never by comparing the device clock with `exp`.
   * Concurrent calls share one request. A new session (another login), a newly verified
   * number, and logout(), logoutEverywhere() and deleteAccount() drop it; a fetch under way
   * when one of those three runs rejects with `logged_out`.
   *
   * It is not revocable: a backend accepts it until `exp` even after logout (its lifetime
   * is the stack's, 15 minutes by default). A 429 `rate_limited` or 503
   * `signing_unavailable` rejects as usual, never retried here; until its `retryAfter`
   * has passed, calls reject at once with the same error (retryAfter counting down)
   * without another request.
   * @returns {Promise<string>} the JWT.
   */
  function getAccessToken() {
    const cached = accessToken;
    if (cached) {
      if (cached.session === stored(false) && usable(cached)) return Promise.resolve(cached.jwt);
      accessToken = null; // another session by now, or near its end: no longer kept
    }
    const hold = accessHold;
    if (hold) {
      const t = now();
      if (t >= hold.since && t < hold.until) {
        const err = hold.err;
        return Promise.reject(new WxLoginError(err.code, err.message, { status: err.status,
          retryAfter: Math.ceil((hold.until - t) / 1000), requestId: err.requestId, cause: err.cause }));
      }
      accessHold = null;
    }
    if (!accessTokenInFlight) {
      const current = fetchAccessToken();
      const done = () => { if (accessTokenInFlight === current) accessTokenInFlight = null; };
      current.then(done, done);
      accessTokenInFlight = current;
    }
    return accessTokenInFlight;
  }

  /** Whether a cached access token has more than its renewal margin left, by the local clock. */
  function usable(cached) {
    const margin = Math.min(Math.max(cached.lifetime * RENEW_SHARE, RENEW_MIN_MS), cached.lifetime / 2);
    const age = now() - cached.sentAt; // negative when the clock was set back: renew
    return age >= 0 && age < cached.lifetime - margin;
  }

  /** getAccessToken()'s one request: `POST /token`, its answer kept unless claims changed. */
  async function fetchAccessToken() {
    const started = generation;
    const epoch = accessEpoch;
    const answer = await authorized({ url: '/token', method: 'POST', data: {} });
    if (started !== generation) {
      throw new WxLoginError('logged_out', 'logout(), logoutEverywhere() or deleteAccount() was called while an access token was being fetched');
    }
    const res = answer.res;
    if (!isOk(res)) {
      const err = responseError(res, 'request');
      if ((res.statusCode === 429 || res.statusCode === 503) && err.retryAfter > 0) {
        const t = now();
        accessHold = { since: t, until: t + Math.min(err.retryAfter * 1000, MAX_HOLD_MS), err };
      }
      throw err;
    }
    const body = res.data && typeof res.data === 'object' ? res.data : {};
    if (typeof body.access_token !== 'string' || !body.access_token) {
      // No cause: whatever the body holds, it is not echoed into errors (and logs).
      throw new WxLoginError('bad_response', 'POST /token answered without an access_token',
        { status: res.statusCode, requestId: headerValue(res.header, 'x-request-id') });
    }
    const lifetime = Number(body.expires_in) * 1000;
    // Claims that changed meanwhile (a phone verified): hand it to these callers, keep it not.
    if (epoch === accessEpoch && lifetime > 0 && lifetime < Infinity) {
      accessToken = { jwt: body.access_token, session: answer.token, sentAt: answer.sentAt, lifetime };
    }
    return body.access_token;
  }

  /** Forgets the access token in memory; one being fetched is not kept. */
  function dropAccessToken() {
    accessToken = null;
    accessTokenInFlight = null;
    accessEpoch += 1;
  }

  /** @returns {string|null} the stored, unexpired token, or null. */
  function getToken() {
    return stored(false);
  }

  /**
   * What the client knows of its session, without a network call.
   * @returns {StoredSession|null} null when no unexpired session is stored (or only a bare
   *   token from an older version of this module).
   */
  function getSession() {
    const record = storedRecord();
    if (record && record.expiresAt <= now()) clearToken();
    if (!record || record.expiresAt <= now()) return null;
    const session = { openid: record.openid, newUser: record.newUser === true };
    if (typeof record.unionid === 'string') session.unionid = record.unionid;
    if (typeof record.appid === 'string') session.appid = record.appid;
    if (isPhone(record.phone)) session.phone = record.phone;
    if (typeof record.expiresAt === 'number') session.expiresAt = record.expiresAt;
    return session;
  }

  return {
    login, request, getPhoneNumber, getRealtimePhoneNumber, checkSession, logout, logoutEverywhere,
    deleteAccount, getMyData, getAccessToken, getToken, getSession,
  };
}
