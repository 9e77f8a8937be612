// Logs in on load (GET /session logs in first when needed) and shows who the user is; the
// phone button while they have no verified number, and a real-time check of it once they
// have one; an access token (a JWT) for the app's other backends; a copy of the user's data;
// 注销账号.

/** A WxLoginError as the user reads it: its code, and the server's request id for support. */
function describe(err) {
  return '出错了：' + (err.code || err.message) + (err.requestId ? '（请求 ' + err.requestId + '）' : '');
}

Page({
  data: {
    me: null,
    newUser: false,
    accessToken: '',
    realtimeChecked: false,
    myData: '',
    deleted: false,
    error: '',
  },

  onLoad() {
    return this.onLogin();
  },

  async onLogin() {
    const { api } = getApp();
    this.setData({ error: '' });
    try {
      const me = await api.request({ url: '/session' }); // {appid, openid, phone?, …}
      const session = api.getSession();
      this.setData({ me, newUser: !!(session && session.newUser), deleted: false });
    } catch (err) {
      this.setData({ error: describe(err) });
    }
  },

  onPhone(e) {
    this.setData({ 'me.phone': e.detail });
  },

  // 手机号实时验证 before a sensitive action: WeChat checks the number with the carrier at
  // each tap (and bills each one), so ask for it only where it matters.
  async onRealtimePhone(e) {
    try {
      const phone = await getApp().api.getRealtimePhoneNumber(e);
      this.setData({ 'me.phone': phone, realtimeChecked: true, error: '' });
    } catch (err) {
      if (err.code === 'user_denied' || err.retry === 'tap_again') return; // the next tap works
      this.setData({ error: describe(err) });
    }
  },

  // What the server keeps about the user (GET /account): the privacy guide's promise.
  async onMyData() {
    try {
      this.setData({ myData: JSON.stringify(await getApp().api.getMyData(), null, 2), error: '' });
    } catch (err) {
      this.setData({ error: describe(err) });
    }
  },

  async onAccessToken() {
    try {
      // Kept in memory and renewed shortly before it expires: ask for it before each call.
      this.setData({ accessToken: await getApp().api.getAccessToken(), error: '' });
    } catch (err) {
      this.setData({ error: describe(err) });
    }
  },

  onDeleteAccount() {
    wx.showModal({
      title: '注销账号',
      content: '将删除服务器上关于你的全部数据（包括手机号），并退出所有设备。此操作不可撤销。',
      confirmText: '注销',
      confirmColor: '#e64340',
      success: async (res) => {
        if (!res.confirm) return;
        try {
          await getApp().api.deleteAccount();
          this.setData({ me: null, newUser: false, accessToken: '', realtimeChecked: false, myData: '',
            deleted: true, error: '' });
          wx.showToast({ title: '账号已注销', icon: 'success' });
        } catch (err) {
          // Everything stored here is forgotten already; tapping again finishes on the server.
          this.setData({ error: describe(err) });
        }
      },
    });
  },
});
