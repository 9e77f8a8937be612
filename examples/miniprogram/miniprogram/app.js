// The app's one wxlogin client, shared by every page and component as getApp().api: one
// client shares one login between them. `wxlogin-client` is the repository's client/
// package, which 构建 npm (or miniprogram-ci's packNpm) copies into miniprogram_npm/.
const { createClient } = require('wxlogin-client');
const sandbox = require('./dev/sandbox');

// make dev's local API (its gateway). Against a deployed stack use the `ApiUrl` output of
// `sam deploy` (or your custom domain), e.g.
//   const BASE_URL = 'https://abc123.execute-api.ap-east-1.amazonaws.com';
// and list its domain among the mini-program's request domains (mp.weixin.qq.com → 开发管理 →
// 服务器域名): devices refuse any other.
const BASE_URL = 'http://127.0.0.1:9200';

// make dev's WeChat is a sandbox: the codes DevTools' own wx.login and phone button get
// from WeChat mean nothing to it, so against a local API the sandbox hands them out instead
// (dev/sandbox.js). Against a deployed stack this does nothing.
const local = sandbox.isLocal(BASE_URL);
const api = createClient({
  baseUrl: BASE_URL,
  wx: local ? sandbox.sandboxWx(wx, BASE_URL) : wx,
});
if (local) sandbox.playPhoneButton(api, wx, BASE_URL);

App({ api });
