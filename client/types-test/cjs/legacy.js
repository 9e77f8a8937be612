// A plain JavaScript page that requires the package (checked with checkJs): the types
// reach require() users too, in the editor and under // @ts-check.
const { createClient, WxLoginError } = require('wxlogin-client');

const api = createClient({ baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com', wx });

Page({
  async onPhone(/** @type {WechatMiniprogram.ButtonGetPhoneNumber} */ e) {
    try {
      const { phoneNumber } = await api.getPhoneNumber(e);
      this.setData({ phoneNumber });
    } catch (err) {
      if (err instanceof WxLoginError && err.code === 'phone_pack_empty') return;
      throw err;
    }
  },
});
