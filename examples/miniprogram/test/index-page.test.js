/**
 * @jest-environment jsdom
 */
// pages/index under miniprogram-simulate: its WXML (and the phone-button it uses) compiled
// by WeChat's wcc, its Page() options run as a component's methods (simulate renders
// components only), the app's client made by the BUILT package on a fake wx.
const path = require('path');
const simulate = require('miniprogram-simulate');
const { BUILT, MINIPROGRAM, buildNpm } = require('./support/build-npm');
const { createFakeWx, OPENID, PHONE } = require('./support/fake-wx');

let createClient;
let pageId;
beforeAll(async () => {
  await buildNpm();
  ({ createClient } = require(BUILT));
  // A page is a component whose methods are its Page() options.
  global.Page = (options) => {
    const { data, ...methods } = options;
    global.Component({ data, methods });
  };
  pageId = simulate.load(path.join(MINIPROGRAM, 'pages/index/index'), 'index-page', { rootPath: MINIPROGRAM });
  delete global.Page;
}, 60000);

afterEach(() => {
  delete global.getApp;
});

/** The page loaded (onLoad done) for a user of the fake wx; `modal` answers wx.showModal. */
async function open({ wxOptions, confirm = true } = {}) {
  const fake = createFakeWx(wxOptions);
  const api = createClient({ baseUrl: 'http://127.0.0.1:9200', wx: fake });
  global.getApp = () => ({ api });
  const modals = [];
  // The page's own wx calls (showModal, showToast) go to simulate's wx, answered here.
  wx.showModal = (o) => { modals.push(o); Promise.resolve().then(() => o.success({ confirm, cancel: !confirm })); };
  wx.showToast = (o) => fake.toasts.push(o.title);
  const page = simulate.render(pageId);
  page.attach(document.createElement('parent-wrapper'));
  await page.instance.onLoad({});
  return { fake, api, page, modals };
}

const text = (page, selector) => {
  const node = page.querySelector(selector);
  return node ? node.dom.textContent.trim() : undefined;
};
async function settle() {
  for (let i = 0; i < 10; i += 1) await simulate.sleep(0);
}

test('logs in on load, shows the openid and, for a user without a number, the phone button', async () => {
  const { fake, page } = await open();
  expect(fake.requests.map((r) => [r.method, r.path])).toEqual([['POST', '/onlogin'], ['GET', '/session']]);
  expect(text(page, '.openid')).toBe(OPENID);
  expect(text(page, '.new-user')).toBe('欢迎：这是你第一次登录。');
  const phoneButton = page.querySelector('#phone-button');
  expect(phoneButton.querySelector('.get-phone')).toBeDefined();

  // The number, once verified, reaches the page (the component's `phone` event).
  phoneButton.querySelector('.get-phone').dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' } });
  await settle();
  expect(page.instance.data.me.phone).toEqual(PHONE);
  expect(phoneButton.querySelector('.get-phone')).toBeUndefined();
  expect(text(phoneButton, '.number')).toBe('13800138000');
});

test('a user with a verified number sees it, and no phone button', async () => {
  const { page } = await open({ wxOptions: { phone: PHONE } });
  const phoneButton = page.querySelector('#phone-button');
  expect(phoneButton.querySelector('.get-phone')).toBeUndefined();
  expect(text(phoneButton, '.number')).toBe('13800138000');
});

test('a verified number can be checked again in real time', async () => {
  const { fake, page } = await open({ wxOptions: { phone: PHONE } });
  page.querySelector('.realtime-phone').dispatchEvent('getrealtimephonenumber',
    { detail: { errMsg: 'getRealtimePhoneNumber:ok', code: 'phone-code-9' } });
  await settle();
  expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/decrypt-phone', data: { code: 'phone-code-9', realtime: true } });
  expect(text(page, '.realtime-checked')).toBe('已与运营商实时核验');
});

test('a user without a number has no real-time check; my data shows GET /account', async () => {
  const { fake, page } = await open();
  expect(page.querySelector('.realtime-phone')).toBeUndefined();
  page.querySelector('.my-data').dispatchEvent('tap');
  await settle();
  expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/account' });
  expect(JSON.parse(text(page, '.my-data-json'))).toMatchObject({ openid: OPENID, sessions: [{ current: true }] });
});

test('the access token button shows a JWT from POST /token', async () => {
  const { fake, page } = await open();
  page.querySelector('.access-token').dispatchEvent('tap');
  await settle();
  expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/token' });
  expect(text(page, '.jwt')).toBe('eyJhbGciOiJSUzI1NiJ9.test.sig');
});

test('注销账号 asks first; confirmed, DELETE /account and the page says so', async () => {
  const { fake, api, page, modals } = await open();
  page.querySelector('.delete-account').dispatchEvent('tap');
  await settle();
  expect(modals.map((m) => m.title)).toEqual(['注销账号']);
  expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/account' });
  expect(api.getSession()).toBeNull();
  expect(text(page, '.deleted')).toBe('账号已注销，服务器上关于你的数据已删除。');
  expect(page.querySelector('.openid')).toBeUndefined();
  expect(fake.toasts).toEqual(['账号已注销']);

  // Logging in again makes a brand-new user.
  page.querySelector('.login-again').dispatchEvent('tap');
  await settle();
  expect(text(page, '.openid')).toBe(OPENID);
  expect(text(page, '.new-user')).toBe('欢迎：这是你第一次登录。');
});

test('注销账号 cancelled: nothing is sent', async () => {
  const { fake, api, page } = await open({ confirm: false });
  const before = fake.requests.length;
  page.querySelector('.delete-account').dispatchEvent('tap');
  await settle();
  expect(fake.requests).toHaveLength(before);
  expect(api.getSession()).not.toBeNull();
  expect(text(page, '.openid')).toBe(OPENID);
});
