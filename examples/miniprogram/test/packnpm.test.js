// 构建 npm with WeChat's miniprogram-ci, as DevTools does for this project, then the BUILT
// module (miniprogram_npm/wxlogin-client, what the mini-program requires) logs in.
const fs = require('fs');
const path = require('path');
const { BUILT, MINIPROGRAM, projectConfig, buildNpm } = require('./support/build-npm');
const { createFakeWx, OPENID, APPID } = require('./support/fake-wx');

const CLIENT = path.resolve(__dirname, '../../../client');

let results;
beforeAll(async () => {
  results = await buildNpm();
}, 60000);

test('project.config.json builds npm from miniprogram/package.json into miniprogram/', () => {
  const config = projectConfig();
  expect(config.miniprogramRoot).toBe('miniprogram/');
  expect(config.setting.urlCheck).toBe(false);
  expect(config.setting.packNpmRelationList).toEqual([
    { packageJsonPath: './miniprogram/package.json', miniprogramNpmDistDir: './miniprogram/' },
  ]);
  const pkg = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, 'package.json'), 'utf8'));
  expect(pkg.dependencies).toEqual({ 'wxlogin-client': 'file:../../../client' });
});

test('packNpm takes wxlogin-client as a mini-program package: its miniprogram_dist, copied', () => {
  // One mini-program package (package.json "miniprogram"), nothing bundled, no warning.
  expect(results).toEqual([{ miniProgramPackNum: 1, otherNpmPackNum: 0, warnList: [] }]);
  const clientPkg = JSON.parse(fs.readFileSync(path.join(CLIENT, 'package.json'), 'utf8'));
  const dist = path.join(CLIENT, clientPkg.miniprogram);
  expect(fs.readFileSync(BUILT, 'utf8')).toBe(fs.readFileSync(path.join(dist, 'index.js'), 'utf8'));
});

test('the built module is CommonJS that needs nothing else, and exports createClient', () => {
  const source = fs.readFileSync(BUILT, 'utf8');
  // As WeChat's module system runs it: a function of (module, exports, require), where an
  // ES module's import/export would be a syntax error. Nothing may be required from it:
  // miniprogram_npm holds no other package.
  const module = { exports: {} };
  const required = [];
  new Function('module', 'exports', 'require', source)(module, module.exports, (name) => {
    required.push(name);
    throw new Error('the built wxlogin-client requires ' + name);
  });
  expect(required).toEqual([]);
  expect(typeof module.exports.createClient).toBe('function');
  expect(typeof module.exports.WxLoginError).toBe('function');
});

test('the built module logs in against a fake wx and keeps the session', async () => {
  const { createClient } = require(BUILT);
  const wx = createFakeWx();
  const api = createClient({ baseUrl: 'http://127.0.0.1:9200', wx });
  const login = await api.login();
  expect(login).toEqual({ token: 'tok-1', expires_in: 7200, appid: APPID, openid: OPENID, new_user: true });
  expect(wx.requests.map((r) => [r.method, r.url, r.data])).toEqual([
    ['POST', 'http://127.0.0.1:9200/onlogin', { code: 'code-1' }],
  ]);
  expect(api.getToken()).toBe('tok-1');
  expect(api.getSession()).toEqual({ openid: OPENID, appid: APPID, newUser: true, expiresAt: expect.any(Number) });
});
