// app.ts of a mini-program compiled to CommonJS ("module": "CommonJS", as mini-program
// TypeScript projects usually are). Under node16 resolution this file's import takes the
// package's `require` condition, dist/wxlogin.d.cts: with ES module types only, tsc would
// refuse it (TS1479).
import wxlogin = require('wxlogin-client');

export interface AppOption {
  api: wxlogin.WxLoginClient;
}

const api = wxlogin.createClient({
  baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com',
  wx,
  onTapAgain: (err) => {
    wx.showToast({ title: wxlogin.TAP_AGAIN_TEXT, icon: 'none' });
    console.log(err.code, err.status);
  },
});

App<AppOption>({ api });
