// A small stand-in for the mini-program's `wx`: wx.login yields codes, wx.request answers
// the wxlogin API's routes as the server does (and make dev's /sandbox/… paths), storage
// is a Map, toasts are recorded. Every wx.request is kept in `requests`.

const OPENID = 'oTest-openid-0001';
const APPID = 'wx0000000000local1';
const PHONE = { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' };

/**
 * @param {object} [options]
 * @param {object} [options.phone] the number the user verified before (on /onlogin).
 * @param {Array<{statusCode: number, data: object}>} [options.decryptAnswers] answers to give
 *   POST /decrypt-phone first, one per call, before the verified number.
 */
function createFakeWx(options) {
  const o = options || {};
  const storage = new Map();
  const requests = [];
  const toasts = [];
  const decryptAnswers = (o.decryptAnswers || []).slice();
  let codes = 0;
  let tokens = 0;
  let phone = o.phone || null;
  let verifiedBy = phone ? 'code' : null;
  let newUser = !o.phone; // the user's first login, until one happens (again after 注销账号)
  const issuedPhoneCodes = new Set();
  const live = new Set(); // the tokens of live sessions

  function answer(method, path, data, header) {
    const bearer = (header && header.authorization) || '';
    const authorized = live.has(bearer.replace(/^Bearer /, ''));
    const route = method + ' ' + path.split('?')[0];
    switch (route) {
      case 'POST /onlogin': {
        if (!data || !/^(code|sandbox-code)-\d+$/.test(data.code)) {
          return { statusCode: 401, data: { error: 'invalid_code', message: 'bad code' } };
        }
        tokens += 1;
        live.add('tok-' + tokens);
        const body = Object.assign({ token: 'tok-' + tokens, expires_in: 7200, appid: APPID, openid: OPENID,
          new_user: newUser }, phone ? { phone } : {});
        newUser = false;
        return { statusCode: 200, data: body };
      }
      case 'POST /decrypt-phone':
        if (!authorized) return { statusCode: 401, data: { error: 'invalid_token', message: 'no session' } };
        if (decryptAnswers.length) return decryptAnswers.shift();
        if (!data || !data.code) return { statusCode: 400, data: { error: 'invalid_request', message: 'no code' } };
        phone = PHONE;
        verifiedBy = data.realtime ? 'realtime' : 'code';
        return { statusCode: 200, data: PHONE };
      case 'GET /session':
        if (!authorized) return { statusCode: 401, data: { error: 'invalid_token', message: 'no session' } };
        return { statusCode: 200, data: Object.assign({ appid: APPID, openid: OPENID, expires_in: 7200 },
          phone ? { phone } : {}) };
      case 'POST /token':
        if (!authorized) return { statusCode: 401, data: { error: 'invalid_token', message: 'no session' } };
        return { statusCode: 200, data: { access_token: 'eyJhbGciOiJSUzI1NiJ9.test.sig', token_type: 'Bearer', expires_in: 900 } };
      case 'GET /account':
        if (!authorized) return { statusCode: 401, data: { error: 'invalid_token', message: 'no session' } };
        return { statusCode: 200, data: Object.assign({ appid: APPID, openid: OPENID, created_at: 1, last_login_at: 2,
          sessions: [{ created_at: 2, expires_at: 7202, current: true }], quotas: {} },
          phone ? { phone: Object.assign({ verified_at: 3, verified_by: verifiedBy }, phone) } : {}) };
      case 'DELETE /account':
        if (!authorized) return { statusCode: 401, data: { error: 'invalid_token', message: 'no session' } };
        phone = null;
        newUser = true;
        live.clear();
        return { statusCode: 200, data: { deleted: true, sessions: 1 } };
      case 'POST /sandbox/login':
        codes += 1;
        return { statusCode: 200, data: { code: 'sandbox-code-' + codes, appid: APPID, openid: OPENID } };
      case 'POST /sandbox/phone': {
        if (!data || data.openid !== OPENID) return { statusCode: 404, data: { error: 'unknown_user' } };
        const code = 'sandbox-phone-' + (issuedPhoneCodes.size + 1);
        issuedPhoneCodes.add(code);
        return { statusCode: 200, data: { code, encryptedData: 'x', iv: 'y' } };
      }
      default:
        return { statusCode: 404, data: { message: 'Not Found' } };
    }
  }

  const wx = {
    requests,
    toasts,
    storage,
    login({ success, fail } = {}) {
      codes += 1;
      const res = { code: 'code-' + codes, errMsg: 'login:ok' };
      Promise.resolve().then(() => (success ? success(res) : undefined), fail);
    },
    request({ url, method = 'GET', data, header, success }) {
      const { pathname, search } = new URL(url);
      requests.push({ url, method, path: pathname + search, data, header });
      const res = Object.assign({ header: {}, errMsg: 'request:ok' }, answer(method, pathname, data, header));
      Promise.resolve().then(() => success(res));
    },
    getStorageSync(key) { return storage.has(key) ? storage.get(key) : ''; },
    setStorageSync(key, value) { storage.set(key, value); },
    removeStorageSync(key) { storage.delete(key); },
    showToast({ title }) { toasts.push(title); },
  };
  return wx;
}

module.exports = { createFakeWx, OPENID, APPID, PHONE };
