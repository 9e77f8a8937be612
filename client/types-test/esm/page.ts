// A page of a mini-program written as ES modules, using every method.
import { WxLoginError, createClient } from 'wxlogin-client';
import type { AccountData, PhoneNumber, SessionInfo, StoredSession, WxLoginErrorCode } from 'wxlogin-client';
import type { AppOption } from './app.js';

const { api } = getApp<AppOption>();

/** A message for each failure the page handles itself; the switch must stay exhaustive. */
function messageFor(code: WxLoginErrorCode): string | undefined {
  switch (code) {
    case 'user_denied':
      return undefined;
    case 'phone_pack_empty':
      return '手机号验证暂不可用';
    case 'privacy_denied':
      return '需要同意隐私保护指引';
    case 'privacy_not_declared':
      return '小程序尚未声明手机号';
    case 'rate_limited':
    case 'user_blocked':
    case 'risky_user':
      return '请稍后再试';
    default:
      return undefined;
  }
}

Page({
  data: { me: null as SessionInfo | null, phone: null as PhoneNumber | null, showPrivacy: false },

  async onLoad() {
    const me = await api.request<SessionInfo>({ url: '/session' });
    const session: StoredSession | null = api.getSession();
    if (session?.newUser) console.log('first login of', session.openid);
    this.setData({ me, phone: me.phone ?? null });
    await api.request({ url: '/orders', method: 'post', data: { item: 42 }, header: { 'x-trace': '1' } });
    await api.request({ url: '/health', auth: false });
  },

  async onPhone(e: WechatMiniprogram.ButtonGetPhoneNumber) {
    try {
      this.setData({ phone: await api.getPhoneNumber(e) });
    } catch (err) {
      if (!(err instanceof WxLoginError)) throw err;
      if (err.retry === 'tap_again') return; // the toast is already shown
      const message = messageFor(err.code);
      if (message) wx.showToast({ title: message, icon: 'none' });
      else if (err.code !== 'user_denied') throw err;
    }
  },

  async onRealtimePhone(e: WechatMiniprogram.CustomEvent<{ errMsg: string; code?: string; errno?: number }>) {
    const phone: PhoneNumber = await api.getRealtimePhoneNumber(e);
    this.setData({ phone });
    await api.getRealtimePhoneNumber(e.detail); // its detail alone works too
  },

  onAgree() {
    getApp<AppOption>().privacyResolve?.({ event: 'agree', buttonId: 'agree-btn' });
    this.setData({ showPrivacy: false });
  },

  onDisagree() {
    getApp<AppOption>().privacyResolve?.({ event: 'disagree' });
    wx.openPrivacyContract({});
  },

  async onOrders() {
    const jwt: string = await api.getAccessToken();
    wx.request({ url: 'https://orders.example.com/orders', header: { Authorization: `Bearer ${jwt}` } });
  },

  async onAccount() {
    const data: AccountData = await api.getMyData();
    const live = data.sessions.filter((s) => !s.current).length;
    const token: string | null = api.getToken();
    console.log(live, data.quotas.phone_verifications_today?.limit, token !== null);
  },

  async onLogout() {
    await api.logout();
  },

  async onLogoutEverywhere() {
    const ended: number = await api.logoutEverywhere();
    wx.showToast({ title: `${ended} sessions ended` });
  },

  async onDeleteAccount() {
    const { confirm } = await wx.showModal({ title: '注销账号', content: '注销后数据将被删除且无法恢复' });
    if (!confirm) return;
    try {
      await api.deleteAccount();
    } catch (err) {
      if (err instanceof WxLoginError && err.status === 0) console.log('offline', err.requestId, err.retryAfter, err.stage);
      throw err;
    }
  },

  async onLogin() {
    const result = await api.login();
    if (result.new_user) console.log(result.openid, result.unionid, result.expires_in, result.token.length);
  },
});

// Options read from elsewhere may be undefined, even under exactOptionalPropertyTypes.
const fromConfig: { appid?: string | undefined; timeout?: number | undefined } = {};
createClient({ baseUrl: 'https://api.example.com', appid: fromConfig.appid, timeout: fromConfig.timeout, onTapAgain: undefined });
api.request({ url: '/session', method: undefined, data: undefined, header: undefined, auth: undefined });
