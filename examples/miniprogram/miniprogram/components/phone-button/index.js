// <phone-button session="{{me}}" bind:phone="onPhone">: WeChat's combined
// getPhoneNumber|agreePrivacyAuthorization button, shown only while the user has no
// verified number (WeChat bills each verification: a verified user is never asked again).
//
// `session`: what the page knows of the user (GET /session's answer, or the client's
// getSession()), null while it is still logging in: no button until then. Once a number
// comes back the button goes, the number shows, and the component triggers `phone` with
// it ({phoneNumber, purePhoneNumber, countryCode}) for the page.
//
// The client is the app's one wxlogin client, getApp().api (app.js).

/** What the user reads for each failure of the button (WxLoginError's code or retry). */
const TEXT = {
  user_denied: '你没有授权手机号，需要时可以再点一次。',
  privacy_denied: '请先同意《用户隐私保护指引》，再点一次按钮。',
  privacy_not_declared: '小程序的隐私保护指引未声明手机号，暂时无法获取，请联系客服。',
  tap_again: '请再点一次按钮获取手机号。',
  phone_pack_empty: '手机号验证暂时不可用，请稍后再试。',
  other: '获取手机号失败，请稍后再试。',
};

Component({
  properties: {
    session: { type: Object, value: null },
  },

  data: {
    phone: null,
    busy: false,
    unavailable: false,
    message: '',
  },

  observers: {
    session(session) {
      this.setData({ phone: (session && session.phone) || null });
    },
  },

  methods: {
    // WeChat's page of the mini-program's privacy guide (base library 2.32.3+).
    onOpenPrivacyContract() {
      if (wx.openPrivacyContract) wx.openPrivacyContract({});
    },

    async onGetPhoneNumber(e) {
      if (this.data.busy) return;
      this.setData({ busy: true, message: '' });
      try {
        const phone = await getApp().api.getPhoneNumber(e);
        this.setData({ busy: false, phone });
        this.triggerEvent('phone', phone);
      } catch (err) {
        const key = err.retry === 'tap_again' ? 'tap_again' : err.code;
        if (!TEXT[key]) console.error('getPhoneNumber failed', err);
        this.setData({
          busy: false,
          message: TEXT[key] || TEXT.other,
          // Nobody can verify a number until the operator buys a pack (mp.weixin.qq.com →
          // 付费管理): no button to tap in vain.
          unavailable: err.code === 'phone_pack_empty',
        });
      }
    },
  },
});
