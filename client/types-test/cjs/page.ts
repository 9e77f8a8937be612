// A page compiled to CommonJS, written with import syntax (tsc turns it into require).
import { WxLoginError, createClient } from 'wxlogin-client';
import type { PhoneNumber, WxLoginClient } from 'wxlogin-client';
import type { AppOption } from './app';

const { api } = getApp<AppOption>();
const other: WxLoginClient = createClient({ baseUrl: 'https://other.example.com', wx, storageKey: 'other.token' });

Page({
  data: { phone: null as PhoneNumber | null },

  async onLoad() {
    const me = await api.request<{ openid: string; phone?: PhoneNumber }>({ url: '/session' });
    this.setData({ phone: me.phone ?? null });
    await other.getAccessToken();
  },

  async onPhone(e: WechatMiniprogram.ButtonGetPhoneNumber) {
    try {
      this.setData({ phone: await api.getPhoneNumber(e) });
    } catch (err) {
      if (err instanceof WxLoginError && (err.code === 'user_denied' || err.retry === 'tap_again')) return;
      if (err instanceof WxLoginError && err.code === 'privacy_denied') return;
      throw err;
    }
  },
});
