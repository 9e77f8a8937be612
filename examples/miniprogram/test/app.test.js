// app.js as WeChat runs it: `require('wxlogin-client')` is the BUILT package (jest maps it
// to miniprogram_npm/wxlogin-client, as WeChat resolves it), App() and wx are stand-ins.
// Against make dev's local API, wx.login's code and the phone button's come from the
// sandbox (dev/sandbox.js), through the gateway's /sandbox/… paths.
const path = require('path');
const { MINIPROGRAM, buildNpm } = require('./support/build-npm');
const { createFakeWx, OPENID, APPID, PHONE } = require('./support/fake-wx');

beforeAll(async () => {
  await buildNpm();
}, 60000);

/** Runs app.js; resolves with what it gave App() and the fake wx behind it. */
function launch() {
  const wx = createFakeWx();
  let app;
  global.wx = wx;
  global.App = (options) => { app = options; };
  jest.isolateModules(() => require(path.join(MINIPROGRAM, 'app.js')));
  delete global.App;
  delete global.wx;
  return { app, wx };
}

test('app.js makes one client on the local API, which logs in with a sandbox code', async () => {
  const { app, wx } = launch();
  const login = await app.api.login();
  expect(login.openid).toBe(OPENID);
  expect(wx.requests.map((r) => [r.method, r.url, r.data])).toEqual([
    ['POST', 'http://127.0.0.1:9200/sandbox/login', {}],
    ['POST', 'http://127.0.0.1:9200/onlogin', { code: 'sandbox-code-1' }],
  ]);
  // The same sandbox user on the next login.
  await app.api.login();
  expect(wx.requests[2].data).toEqual({ openid: OPENID, appid: APPID });
});

test('a phone tap in DevTools becomes the sandbox\'s phone code; refusals stay refusals', async () => {
  const { app, wx } = launch();
  await app.api.login();
  const phone = await app.api.getPhoneNumber({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:ok', code: 'devtools-code' } });
  expect(phone).toEqual(PHONE);
  expect(wx.requests.slice(2).map((r) => [r.method, r.path, r.data])).toEqual([
    ['POST', '/sandbox/phone', { openid: OPENID, appid: APPID, phoneNumber: '13800138000' }],
    ['POST', '/decrypt-phone', { code: 'sandbox-phone-1' }],
  ]);
  await expect(app.api.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }))
    .rejects.toMatchObject({ code: 'user_denied' });
  await expect(app.api.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 104 } }))
    .rejects.toMatchObject({ code: 'privacy_denied' });
  expect(wx.requests).toHaveLength(4); // nothing sent for either
});

test('a real-time tap in DevTools becomes a real-time sandbox code', async () => {
  const { app, wx } = launch();
  await app.api.login();
  const phone = await app.api.getRealtimePhoneNumber({ type: 'getrealtimephonenumber',
    detail: { errMsg: 'getRealtimePhoneNumber:ok', code: 'devtools-code' } });
  expect(phone).toEqual(PHONE);
  expect(wx.requests.slice(2).map((r) => [r.method, r.path, r.data])).toEqual([
    ['POST', '/sandbox/phone', { openid: OPENID, appid: APPID, phoneNumber: '13800138000', realtime: true }],
    ['POST', '/decrypt-phone', { code: 'sandbox-phone-1', realtime: true }],
  ]);
});
