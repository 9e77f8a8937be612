/**
 * @jest-environment jsdom
 */
// components/phone-button under miniprogram-simulate (its WXML compiled by WeChat's wcc),
// with the app's client made by the BUILT package (miniprogram_npm/wxlogin-client) on a
// fake wx, handed to the component as in the app: getApp().api.
const path = require('path');
const simulate = require('miniprogram-simulate');
const { BUILT, MINIPROGRAM, buildNpm } = require('./support/build-npm');
const { createFakeWx, OPENID, PHONE } = require('./support/fake-wx');

const COMPONENT = path.join(MINIPROGRAM, 'components/phone-button/index');

let createClient;
let componentId;
beforeAll(async () => {
  await buildNpm();
  ({ createClient } = require(BUILT));
  // Once per file: simulate runs the component's js through require, which caches it.
  componentId = simulate.load(COMPONENT, 'phone-button', { rootPath: MINIPROGRAM });
}, 60000);

afterEach(() => {
  delete global.getApp;
});

/** The app's client on a fake wx, logged in; the component rendered for `session`. */
async function setUp({ session = { openid: OPENID }, wxOptions } = {}) {
  const wx = createFakeWx(wxOptions);
  const api = createClient({ baseUrl: 'http://127.0.0.1:9200', wx });
  await api.login();
  global.getApp = () => ({ api });
  const comp = simulate.render(componentId, { session });
  comp.attach(document.createElement('parent-wrapper'));
  const phoneEvents = [];
  comp.addEventListener('phone', (e) => phoneEvents.push(e.detail));
  return { wx, api, comp, phoneEvents };
}

/** The user taps the button and WeChat answers with `detail`. */
async function tap(comp, detail) {
  const button = comp.querySelector('.get-phone');
  button.dispatchEvent('tap');
  button.dispatchEvent('getphonenumber', { detail });
  for (let i = 0; i < 20 && comp.instance.data.busy !== false; i += 1) await simulate.sleep(0);
  await simulate.sleep(0);
}

const text = (comp, selector) => {
  const node = comp.querySelector(selector);
  return node ? node.dom.textContent.trim() : undefined;
};
/** The first node of `tagName` in a rendered tree's toJSON(). */
function findNode(tree, tagName) {
  if (!tree || typeof tree !== 'object') return undefined;
  if (tree.tagName === tagName) return tree;
  for (const child of tree.children || []) {
    const found = findNode(child, tagName);
    if (found) return found;
  }
  return undefined;
}
const decryptCalls = (wx) => wx.requests.filter((r) => r.path === '/decrypt-phone');

test('no button before the page knows the user', () => {
  global.getApp = () => ({ api: null });
  const comp = simulate.render(componentId, { session: null });
  comp.attach(document.createElement('parent-wrapper'));
  expect(comp.querySelector('.get-phone')).toBeUndefined();
});

test('a verified user sees the number and no button', async () => {
  const { comp } = await setUp({ session: { openid: OPENID, phone: PHONE } });
  expect(comp.querySelector('.get-phone')).toBeUndefined();
  expect(text(comp, '.number')).toBe('13800138000');
});

test('the combined button, then the number once /decrypt-phone answers; the button is gone', async () => {
  const { wx: fake, api, comp, phoneEvents } = await setUp();
  const button = comp.querySelector('.get-phone');
  expect(button).toBeDefined();
  // As wcc compiled the WXML: the combined open-type, bound to the component's handler.
  const node = findNode(comp.toJSON(), 'wx-button');
  expect(node.attrs).toContainEqual({ name: 'openType', value: 'getPhoneNumber|agreePrivacyAuthorization' });
  expect(node.event.getphonenumber.handler).toBe('onGetPhoneNumber');
  expect(text(comp, '.number')).toBeUndefined();
  // The tap also agrees to the privacy guide: said beside it, the guide one tap away.
  expect(text(comp, '.privacy-notice')).toBe('点击即表示同意《用户隐私保护指引》');
  const opened = [];
  wx.openPrivacyContract = (o) => opened.push(o); // the global wx, which the component calls
  comp.querySelector('.privacy-notice').dispatchEvent('tap');
  await simulate.sleep(0);
  expect(opened).toHaveLength(1);

  await tap(comp, { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' });

  expect(decryptCalls(fake).map((r) => [r.method, r.url, r.data, r.header.authorization])).toEqual([
    ['POST', 'http://127.0.0.1:9200/decrypt-phone', { code: 'phone-code-1' }, 'Bearer tok-1'],
  ]);
  expect(comp.querySelector('.get-phone')).toBeUndefined();
  expect(comp.querySelector('.privacy-notice')).toBeUndefined();
  expect(text(comp, '.number')).toBe('13800138000');
  expect(text(comp, '.message')).toBeUndefined();
  expect(phoneEvents).toEqual([PHONE]);
  expect(api.getSession().phone).toEqual(PHONE); // remembered: the button stays away next time
});

test('errno 104 (privacy guide not agreed): the privacy text, the button stays, nothing sent', async () => {
  const { wx, comp, phoneEvents } = await setUp();
  await tap(comp, { errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 104 });
  expect(text(comp, '.message')).toBe('请先同意《用户隐私保护指引》，再点一次按钮。');
  expect(comp.querySelector('.get-phone')).toBeDefined();
  expect(decryptCalls(wx)).toEqual([]);
  expect(phoneEvents).toEqual([]);
});

test('the user refuses: a text, the button stays, nothing sent', async () => {
  const { wx, comp } = await setUp();
  await tap(comp, { errMsg: 'getPhoneNumber:fail user deny' });
  expect(text(comp, '.message')).toBe('你没有授权手机号，需要时可以再点一次。');
  expect(comp.querySelector('.get-phone')).toBeDefined();
  expect(decryptCalls(wx)).toEqual([]);
});

test('a used phone code (401 invalid_code): tap again, and the next tap works', async () => {
  const { wx, comp } = await setUp({ wxOptions: { decryptAnswers: [
    { statusCode: 401, data: { error: 'invalid_code', message: 'code been used' } },
  ] } });
  await tap(comp, { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' });
  expect(text(comp, '.message')).toBe('请再点一次按钮获取手机号。');
  expect(wx.toasts).toEqual(['请再点一次获取手机号']); // the client's own onTapAgain toast
  expect(comp.querySelector('.get-phone')).toBeDefined();

  await tap(comp, { errMsg: 'getPhoneNumber:ok', code: 'phone-code-2' });
  expect(decryptCalls(wx).map((r) => r.data.code)).toEqual(['phone-code-1', 'phone-code-2']);
  expect(comp.querySelector('.get-phone')).toBeUndefined();
  expect(text(comp, '.number')).toBe('13800138000');
});

test('errno 1400001 (the phone pack is used up): a text and no button to tap in vain', async () => {
  const { wx, comp } = await setUp();
  await tap(comp, { errMsg: 'getPhoneNumber:fail no quota', errno: 1400001 });
  expect(text(comp, '.message')).toBe('手机号验证暂时不可用，请稍后再试。');
  expect(comp.querySelector('.get-phone')).toBeUndefined();
  expect(text(comp, '.number')).toBeUndefined();
  expect(decryptCalls(wx)).toEqual([]);
});
