// app.ts of a mini-program written as ES modules: one client for the whole app.
import { createClient, TAP_AGAIN_TEXT } from 'wxlogin-client';
import type { PrivacyResolve, WxLoginClient, WxLoginError } from 'wxlogin-client';

export interface AppOption {
  api: WxLoginClient;
  /** The resolve of the request the privacy popup is answering, while it is shown. */
  privacyResolve?: PrivacyResolve;
}

const api = createClient({
  baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com',
  wx, // the global WechatMiniprogram.Wx of miniprogram-api-typings, as it is
  appid: 'wx4f4bc4dec97d474b',
  timeout: 10_000,
  storageKey: 'wxlogin.token',
  onTapAgain: (err: WxLoginError) => {
    wx.showToast({ title: `${TAP_AGAIN_TEXT} (${err.code})`, icon: 'none' });
  },
  onNeedPrivacy: (resolve, eventInfo) => {
    // The page shows its agreement popup; its agreePrivacyAuthorization button resolves.
    getApp<AppOption>().privacyResolve = resolve;
    console.log('privacy asked for by', eventInfo.referrer);
    resolve({ event: 'exposureAuthorization' });
  },
  now: Date.now,
});

App<AppOption>({
  api,
  onLaunch() {
    api.checkSession().then((session) => {
      if (session.phone_verified_by === 'realtime') console.log(session.phone?.phoneNumber);
    }, () => {});
  },
});

// A typed Wx fits as well, as does a client with no wx at all (the global one).
const typed: WechatMiniprogram.Wx = wx;
createClient({ wx: typed, baseUrl: 'http://127.0.0.1:9200', onTapAgain: null, onNeedPrivacy: null });
createClient({ baseUrl: 'http://127.0.0.1:9200' });
