// make dev only. The local stack plays WeChat with a sandbox (the walk in the repository's
// README.md): its users log in with codes from `POST /sandbox/login` and verify numbers with
// codes from `POST /sandbox/phone`, and it knows nothing of the codes that DevTools' own
// wx.login and phone button get from Tencent. So, when the client talks to a local API,
// these two come from the sandbox instead, through the local gateway's /sandbox/… paths
// (the same ones make dev's playground uses). app.js uses this only for a local base URL:
// against a deployed stack, wx.login and the phone button are WeChat's own.

/** Where the sandbox user of this DevTools session is kept: the same person on each login. */
const USER_KEY = 'wxlogin-example.sandbox-user';
/** The number the sandbox's phone button gives (the one the README's walk uses). */
const SANDBOX_PHONE = '13800138000';

/** Whether `baseUrl` is make dev's (this machine), where the sandbox plays WeChat. */
function isLocal(baseUrl) {
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(baseUrl);
}

/**
 * POSTs JSON with the real wx.request; resolves with the body of a 2xx answer, or of one
 * that carries a button's `errno` (the sandbox's empty phone pack: 402 with errno 1400001).
 */
function post(wxApi, url, data) {
  return new Promise((resolve, reject) => {
    wxApi.request({
      url, method: 'POST', data, header: { 'content-type': 'application/json' },
      success: (res) => ((res.statusCode >= 200 && res.statusCode < 300) || (res.data && res.data.errno)
        ? resolve(res.data)
        : reject(new Error(url + ' answered ' + res.statusCode + ': ' + JSON.stringify(res.data)))),
      fail: (err) => reject(new Error((err && err.errMsg) || 'wx.request failed')),
    });
  });
}

/**
 * The `wx` to give createClient: WeChat's own, but for `login`, which asks the sandbox for a
 * code for this DevTools session's sandbox user (a new user the first time).
 */
function sandboxWx(wxApi, gatewayUrl) {
  const local = Object.create(wxApi);
  local.login = (options) => {
    const o = options || {};
    const known = wxApi.getStorageSync(USER_KEY) || null;
    post(wxApi, gatewayUrl + '/sandbox/login', known ? { openid: known.openid, appid: known.appid } : {})
      .then((answer) => {
        wxApi.setStorageSync(USER_KEY, { openid: answer.openid, appid: answer.appid });
        return { code: answer.code, errMsg: 'login:ok' };
      }, (err) => ({ errMsg: 'login:fail ' + err.message }))
      .then((res) => {
        if (res.code) { if (o.success) o.success(res); } else if (o.fail) o.fail(res);
        if (o.complete) o.complete(res);
      });
  };
  return local;
}

/**
 * Makes `api.getPhoneNumber` and `api.getRealtimePhoneNumber` take the number from the sandbox: a tap the user allowed (or
 * that DevTools failed for want of a real appid) becomes the sandbox's phone code for this
 * user and {@link SANDBOX_PHONE}. The user's refusal and the privacy errors stay as they are,
 * so the component's handling of them can be tried in DevTools too.
 */
function playPhoneButton(api, wxApi, gatewayUrl) {
  // Both buttons: the quick one, and 手机号实时验证 (the sandbox bills its own pack).
  for (const [method, realtime] of [['getPhoneNumber', false], ['getRealtimePhoneNumber', true]]) {
    const original = api[method];
    api[method] = async (event) => {
      const detail = (event && event.detail) || {};
      const user = wxApi.getStorageSync(USER_KEY) || null;
      const errno = Number(detail.errno);
      if (!user || errno === 104 || errno === 112 || /deny|privacy/.test(detail.errMsg || '')) {
        return original(event);
      }
      const body = { openid: user.openid, phoneNumber: SANDBOX_PHONE };
      if (user.appid) body.appid = user.appid;
      if (realtime) body.realtime = true;
      const answer = await post(wxApi, gatewayUrl + '/sandbox/phone', body);
      return original({
        type: method.toLowerCase(),
        detail: answer.errno
          ? { errMsg: answer.errMsg, errno: answer.errno } // the sandbox's empty pack (1400001)
          : { errMsg: method + ':ok', code: answer.code },
      });
    };
  }
}

module.exports = { isLocal, sandboxWx, playPhoneButton, USER_KEY, SANDBOX_PHONE };
