// Types for wxlogin-client (wxlogin.js), written by hand. scripts/build.mjs copies this
// file beside the CommonJS builds (dist/wxlogin.d.cts, miniprogram_dist/index.d.ts), and
// types-test/ checks it with tsc against miniprogram-api-typings.

/**
 * The members of the mini-program API object that the client calls (`wx`, or uni-app's
 * `uni`, or Taro's `Taro`), and two that UI code beside it may share. Structural, so
 * `WechatMiniprogram.Wx` (miniprogram-api-typings) fits as it is. Members are methods (not
 * function-valued properties) on purpose: their parameters are then compared bivariantly,
 * as a platform's richer option types need. The client calls the optional ones only when
 * present, or tolerates their absence.
 */
export interface WxLike {
  /** `wx.login`: the client reads `code` from `success`, `errMsg` from `fail`. */
  login(option: WxLoginOption): unknown;
  /** `wx.request`: JSON in and out (`dataType: 'json'`). */
  request<T extends string | object | ArrayBuffer = string | object | ArrayBuffer>(
    option: WxRequestOption<T>,
  ): unknown;
  getStorageSync(key: string): any;
  setStorageSync(key: string, data: any): void;
  removeStorageSync(key: string): void;
  /** Used by the default `onTapAgain` only; without it, nothing is shown. */
  showToast?(option: { title: string; icon?: 'success' | 'error' | 'loading' | 'none'; duration?: number }): unknown;
  /** Not called by the client; for pages that confirm with it (the README's 注销账号). */
  showModal?(option: {
    title?: string;
    content?: string;
    showCancel?: boolean;
    cancelText?: string;
    confirmText?: string;
    success?: (result: { confirm: boolean; cancel: boolean }) => void;
    fail?: (error: { errMsg: string }) => void;
  }): unknown;
  /**
   * Base library 2.32.3+. Called once by `createClient` when `onNeedPrivacy` is given;
   * absent (older base libraries, stand-ins in tests), nothing is registered. Taro has
   * it, and uni-app's WeChat build passes it through to `wx`. WeChat
   * calls the listener with `(resolve, eventInfo)` ({@link PrivacyResolve},
   * {@link PrivacyEventInfo}). miniprogram-api-typings 5.2.3 declares that listener as
   * `(res: GeneralCallbackResult) => void`, so here `resolve` is `any` and `eventInfo`
   * optional: `WechatMiniprogram.Wx` must fit.
   */
  onNeedPrivacyAuthorization?(listener: (resolve: any, eventInfo?: PrivacyEventInfo) => void): unknown;
  /** Not called by the client; an `onNeedPrivacy` UI calls it to open the privacy guide. */
  openPrivacyContract?(option?: {
    success?: (result: { errMsg: string }) => void;
    fail?: (error: { errMsg: string }) => void;
    complete?: (result: { errMsg: string }) => void;
  }): unknown;
}

/** What the client passes to `wx.login`. */
export interface WxLoginOption {
  success?: (result: { code: string; errMsg?: string }) => void;
  fail?: (error: { errMsg: string }) => void;
}

/** What the client passes to `wx.request`. */
export interface WxRequestOption<T extends string | object | ArrayBuffer = string | object | ArrayBuffer> {
  url: string;
  method?: HttpMethod;
  data?: string | object | ArrayBuffer;
  header?: Record<string, string>;
  dataType?: string;
  timeout?: number;
  success?: (result: { statusCode: number; data: T; header: Record<string, any> }) => void;
  fail?: (error: { errMsg: string }) => void;
}

/** The methods `wx.request` knows. */
export type HttpMethod = 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT';

/**
 * What an `onNeedPrivacy` handler passes to WeChat's `resolve`: `agree` with the id of the
 * `open-type="agreePrivacyAuthorization"` button the user tapped (WeChat checks that it
 * was tapped), `disagree`, or (optionally, before either) `exposureAuthorization` when the
 * app's agreement UI is on screen.
 */
export type PrivacyResolution =
  | { event: 'agree'; buttonId: string }
  | { event: 'disagree' }
  | { event: 'exposureAuthorization' };

/** WeChat's `resolve` for one held-back privacy API or button. */
export type PrivacyResolve = (result: PrivacyResolution) => void;

/** WeChat's `eventInfo`: `referrer` names the held-back API or button, e.g. `'button.getPhoneNumber'`. */
export interface PrivacyEventInfo {
  referrer: string;
}

/** A verified phone number, as WeChat gives it. */
export interface PhoneNumber {
  /** With the country code for numbers outside mainland China. */
  phoneNumber: string;
  /** Without the country code. */
  purePhoneNumber: string;
  /** e.g. `'86'`. */
  countryCode: string;
}

/** How the number was verified: the legacy encrypted form, getPhoneNumber's code, or getRealtimePhoneNumber's. */
export type PhoneVerifiedBy = 'legacy' | 'code' | 'realtime';

/** The `POST /onlogin` answer. */
export interface LoginResult {
  /** The session token (opaque; for the wxlogin API only). */
  token: string;
  /** Seconds the session lives. */
  expires_in: number;
  /** The mini-program the session belongs to. */
  appid: string;
  openid: string;
  /** When WeChat gave one (the app is bound to an Open Platform account). */
  unionid?: string;
  /** True on the user's first login. */
  new_user: boolean;
  /** Present once the user has verified a number (WeChat bills each verification: do not ask again). */
  phone?: PhoneNumber;
}

/** The `GET /session` answer (times in epoch seconds). */
export interface SessionInfo {
  appid: string;
  openid: string;
  unionid?: string;
  /** Seconds the session has left. */
  expires_in: number;
  phone?: PhoneNumber;
  phone_verified_by?: PhoneVerifiedBy;
  phone_verified_at?: number;
  /** WeChat's risk rank at sign-up (0-4), when the stack records it. */
  risk_rank?: number;
}

/** What the client knows of its session without asking the server ({@link WxLoginClient.getSession}). */
export interface StoredSession {
  appid?: string;
  openid: string;
  unionid?: string;
  /** True when the login that made this session was the user's first. */
  newUser: boolean;
  /** The verified number as of that login, or of a later getPhoneNumber / getRealtimePhoneNumber / checkSession. */
  phone?: PhoneNumber;
  /** When the session ends, in epoch ms. */
  expiresAt?: number;
}

/** The `GET /account` answer: everything the server stores about the user (times in epoch seconds). */
export interface AccountData {
  appid: string;
  openid: string;
  unionid?: string;
  created_at: number;
  last_login_at: number;
  kept_until?: number;
  phone?: PhoneNumber & { verified_at: number; verified_by: PhoneVerifiedBy };
  risk?: { rank: number; checked_at: number };
  sessions: Array<{ created_at: number; expires_at: number; current: boolean }>;
  quotas: { phone_verifications_today?: { used: number; limit: number; resets_at: number } };
}

/** {@link WxLoginClient.request}'s options. */
export interface RequestOptions {
  /** A path under `baseUrl`, such as `'/session'` (query string allowed). */
  url: `/${string}`;
  /** Default `'GET'`; lower case is accepted. */
  method?: HttpMethod | Lowercase<HttpMethod> | undefined;
  /** Query parameters for GET, the JSON body otherwise (as `wx.request`). */
  data?: string | object | ArrayBuffer | undefined;
  /** Extra headers; an `Authorization` header is replaced by the session's. */
  header?: Record<string, string> | undefined;
  /** `false`: send no token and never log in. Default `true`. */
  auth?: boolean | undefined;
}

/** The `detail` of a phone button's event (`bindgetphonenumber`, `bindgetrealtimephonenumber`). */
export interface PhoneButtonDetail {
  errMsg?: string;
  /** 1400001: the phone-verification pack is used up; 104, 112: privacy (see the error codes). */
  errno?: number;
  /** The phone code (current buttons). */
  code?: string;
  /** The legacy form (getPhoneNumber only). */
  encryptedData?: string;
  iv?: string;
}

/** A phone button's event, or its `detail` alone. `WechatMiniprogram.ButtonGetPhoneNumber` fits. */
export type PhoneButtonEvent = { detail: PhoneButtonDetail } | PhoneButtonDetail;

/** {@link createClient}'s options. */
export interface CreateClientOptions {
  /**
   * The API's base URL (the SAM output `ApiUrl`, or `http://127.0.0.1:9200` locally);
   * request paths are appended to it. Required.
   */
  baseUrl: string;
  /** The wx storage key of the session. Default `'wxlogin.token'`. */
  storageKey?: string | undefined;
  /** The mini-program API object. Default: the global `wx`. uni-app: `uni`; Taro: `Taro`; tests: a fake. */
  wx?: WxLike | undefined;
  /** `wx.request` timeout in ms (WeChat's default: 60000). */
  timeout?: number | undefined;
  /**
   * The mini-program's appid, sent with every login. A stack serving several
   * mini-programs must know which one is logging in: WeChat's Referer says so on a
   * mini-program's own `wx.request`, this says so everywhere else (a web-view, tests, a
   * proxy that drops the Referer). A non-empty string.
   */
  appid?: string | undefined;
  /**
   * Called when the user must tap the phone button (getPhoneNumber or
   * getRealtimePhoneNumber) again. Default: a toast with {@link TAP_AGAIN_TEXT};
   * `null` shows nothing.
   */
  onTapAgain?: ((err: WxLoginError) => void) | null | undefined;
  /** The clock, in epoch ms. Default `Date.now`; tests pass a fake one to age sessions and access tokens. */
  now?: (() => number) | undefined;
  /**
   * The app's own privacy-agreement UI. When given and `wx.onNeedPrivacyAuthorization`
   * exists (base library 2.32.3+), createClient registers one listener that calls it each
   * time WeChat holds back a privacy API or button (the phone buttons among them) because
   * the user has not agreed to the privacy guide (用户隐私保护指引); `eventInfo.referrer`
   * names it (`'button.getPhoneNumber'`). Show the agreement with a
   * `<button id="agree-btn" open-type="agreePrivacyAuthorization" bindagreeprivacyauthorization="onAgree">`,
   * and from `onAgree` call `resolve({ event: 'agree', buttonId: 'agree-btn' })`, or
   * `resolve({ event: 'disagree' })` when the user declines (the held-back button then
   * fails: `privacy_denied`). Every call must resolve one way or the other; one that throws
   * is resolved `disagree`, and its error rethrown. WeChat keeps one listener per
   * mini-program: the last registered wins. Default (undefined) and `null`: nothing is
   * registered and WeChat's own privacy popup asks the user; `null` says the app registers
   * its listener itself.
   */
  onNeedPrivacy?: ((resolve: PrivacyResolve, eventInfo: PrivacyEventInfo) => void) | null | undefined;
}

/** A client bound to one wxlogin deployment. Keep one per app (e.g. in app.js): the single-flight login is per client. */
export interface WxLoginClient {
  /**
   * `wx.login`, then `POST /onlogin`; stores the session under `storageKey`. Calls made
   * while a login is under way share it (one `wx.login`). When it replaces a live stored
   * token, that token's session is ended in the background (never awaited, never an error).
   */
  login(): Promise<LoginResult>;
  /**
   * `wx.request` to `baseUrl + url` with `Authorization: Bearer <token>`. Logs in first when
   * no unexpired session is stored; on 401 `invalid_token`, or API Gateway's 403
   * `{"message": "Forbidden"}` from the wxlogin authorizer, logs in again once and retries
   * once. Never logs in twice for one call, nor again when `logout()`,
   * `logoutEverywhere()` or `deleteAccount()` ran during it.
   * @returns the parsed body of a 2xx answer; rejects with a {@link WxLoginError}.
   */
  request<T = any>(options: RequestOptions): Promise<T>;
  /**
   * The getPhoneNumber button's event (手机号快速验证) → the number, through
   * `POST /decrypt-phone`: sends `detail.code` when present, else `encryptedData` + `iv`.
   * Rejects without a network call with `user_denied` (refused), `phone_pack_empty`
   * (errno 1400001), `privacy_denied` (errno 104), `privacy_not_declared` (errno 112) or
   * `invalid_event`. On 422 `session_key_mismatch` (logs in again first) or 401
   * `invalid_code`, calls `onTapAgain` and rejects with `retry: 'tap_again'`: the next tap
   * works. The number is remembered on the stored session.
   */
  getPhoneNumber(event: PhoneButtonEvent): Promise<PhoneNumber>;
  /**
   * The getRealtimePhoneNumber button's event (手机号实时验证: WeChat checks the number
   * with the carrier at each tap) → the number: sends `{code, realtime: true}`. As
   * {@link getPhoneNumber}'s code form; there is no legacy form (an event without a code
   * rejects with `invalid_event`).
   */
  getRealtimePhoneNumber(event: PhoneButtonEvent): Promise<PhoneNumber>;
  /**
   * `GET /session?check=wechat`: logs in when the session is gone, and again when WeChat
   * rotated the session_key (422). The answer's `phone` updates `getSession().phone`.
   */
  checkSession(): Promise<SessionInfo>;
  /**
   * Forgets the session here at once, then `DELETE /session`. Resolves on 200, on 401
   * (already logged out), or without a call when no token is stored; rejects only if the
   * server could not be told.
   */
  logout(): Promise<void>;
  /**
   * `DELETE /session?all=true`: ends every session of this user in this mini-program, on
   * every device, this one included. Logs in first when needed, so the other devices are
   * always reached.
   * @returns how many sessions ended (at least 1).
   */
  logoutEverywhere(): Promise<number>;
  /**
   * Cancels the account (注销账号, `DELETE /account`): the server erases the user in this
   * mini-program and keeps an audit record naming no one; everything stored here is
   * forgotten, even when the server could not be told (then it rejects: call it again).
   * @returns how many sessions ended (at least 1).
   */
  deleteAccount(): Promise<number>;
  /** `GET /account`: a copy of everything the server stores about the user. Logs in first when needed. */
  getMyData(): Promise<AccountData>;
  /**
   * A short-lived access token (JWT, RS256) for the app's OTHER backends, from
   * `POST /token`: send it as `Authorization: Bearer <JWT>`. Kept in memory only and
   * renewed shortly before it expires; concurrent calls share one request. After a 429 or
   * 503 with `retryAfter`, rejects at once with the same error until it has passed.
   */
  getAccessToken(): Promise<string>;
  /** The stored, unexpired session token, or null. For the wxlogin API only. */
  getToken(): string | null;
  /** What the client knows of its session, with no network call; null when no unexpired session is stored. */
  getSession(): StoredSession | null;
}

/**
 * Every `code` a {@link WxLoginError} can carry. A newer server may add codes: compare
 * with the ones you handle, and treat any other as a failure.
 *
 * The server's (docs/api.md): `invalid_request`, `unknown_app`, `invalid_code`,
 * `code_used`, `user_blocked`, `risky_user`, `invalid_token`, `session_key_mismatch`,
 * `wrong_app`, `rate_limited` (also API Gateway's own 429), `wechat_error`,
 * `wechat_unavailable`, `store_unavailable`, `signing_unavailable`, `payload_too_large`,
 * `method_not_allowed`; and `internal_error`, which the server answers only if it cannot
 * encode an answer (undocumented, never expected).
 *
 * The client's: `network_error` (wx.request failed), `wx_login_failed` (wx.login failed),
 * `user_denied` (the user refused the phone number), `phone_pack_empty` (errno 1400001:
 * the phone-verification pack is used up), `privacy_denied` (errno 104: the user has not
 * agreed to the privacy guide, or refused it), `privacy_not_declared` (errno 112: the
 * privacy guide does not declare the phone number), `invalid_event` (no phone data in the
 * event), `bad_response` (a 2xx answer without the expected fields), `http_error` (a
 * non-2xx answer without the `{error, message}` body, such as API Gateway's own 5xx),
 * `logged_out` (logout(), logoutEverywhere() or deleteAccount() ran meanwhile).
 */
export type WxLoginErrorCode =
  | 'invalid_request'
  | 'unknown_app'
  | 'invalid_code'
  | 'code_used'
  | 'user_blocked'
  | 'risky_user'
  | 'invalid_token'
  | 'session_key_mismatch'
  | 'wrong_app'
  | 'rate_limited'
  | 'wechat_error'
  | 'wechat_unavailable'
  | 'store_unavailable'
  | 'signing_unavailable'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'internal_error'
  | 'network_error'
  | 'wx_login_failed'
  | 'user_denied'
  | 'phone_pack_empty'
  | 'privacy_denied'
  | 'privacy_not_declared'
  | 'invalid_event'
  | 'bad_response'
  | 'http_error'
  | 'logged_out';

/** Every failure of the client. */
export declare class WxLoginError extends Error {
  constructor(
    code: WxLoginErrorCode,
    message: string,
    extra?: {
      status?: number;
      retryAfter?: number;
      requestId?: string;
      stage?: 'login' | 'request';
      cause?: unknown;
    },
  );
  name: 'WxLoginError';
  /** The stable machine-readable code: switch on it; `message` is for people. */
  code: WxLoginErrorCode;
  /** The HTTP status; 0 when there was no HTTP answer. */
  status: number;
  /** Seconds to wait, from `retry-after` (429, 503). */
  retryAfter?: number;
  /** The server's `x-request-id`, which names the request in its logs. */
  requestId?: string;
  /** `'login'` when it happened while logging in, else `'request'`. */
  stage: 'login' | 'request';
  /** `'tap_again'` when the user should tap the phone button once more (the next tap works). */
  retry?: 'tap_again';
  /** The underlying error, wx callback result or answer body, when there is one. */
  cause?: unknown;
}

/** What the default `onTapAgain` shows: 请再点一次获取手机号. */
export declare const TAP_AGAIN_TEXT: '请再点一次获取手机号';

/**
 * Creates a client bound to one wxlogin deployment. Throws a TypeError when `baseUrl` is
 * missing, no `wx` is given nor global, or `appid`, `now` or `onNeedPrivacy` has the
 * wrong type.
 * @example
 * import { createClient } from 'wxlogin-client';
 * App({ api: createClient({ baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com' }) });
 */
export declare function createClient(options: CreateClientOptions): WxLoginClient;
