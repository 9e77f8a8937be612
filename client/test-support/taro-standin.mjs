// A stand-in for Taro's `Taro` (weapp) on top of the fake wx, so the client can be run as
// `createClient({ wx: Taro })` against the real local stack. What it copies, from Taro's own
// source (packages/shared/src/native-apis.ts in github.com/NervJS/taro, processApis and
// getNormalRequest):
// - an asynchronous API calls the caller's `success` / `fail` / `complete` AND returns a
//   Promise that resolves with the success result, or REJECTS with the fail result, after
//   calling `fail`: passing `fail` does not stop that rejection;
// - Taro.request returns such a promise with `.abort()` (it goes through Taro's
//   interceptor chain, which keeps both);
// - synchronous APIs (`*Sync`) and `on*` listeners are wx's own, passed through.
// Lives outside test/ because Node 20's `node --test <dir>` runs every .mjs under test/.

import { createFakeWx } from './fake-wx.mjs';

/** The asynchronous APIs the client may call, promisified as Taro does. */
const ASYNC_APIS = ['login', 'showToast', 'showModal'];

/**
 * A `Taro` for one fake user: createFakeWx's options (`sandboxUrl`, `openid`, `privacy`).
 * Everything of the fake wx (calls, requests, hooks, storage, idle(), …) is read through
 * it; `fake` is that fake wx. `returned` logs the promise of each asynchronous call
 * (`{name, value}`), and `rejected` counts those that rejected.
 */
export function createTaroStandin(options) {
  const fake = createFakeWx(options);
  const taro = Object.create(fake);
  const returned = [];
  const counts = { rejected: 0 };

  /** processApis' promisified call: the caller's callbacks first, then the promise settles. */
  function promisified(name, args) {
    const given = args || {};
    const obj = Object.assign({}, given);
    let task = null;
    const p = new Promise((resolve, reject) => {
      obj.success = (res) => {
        if (typeof given.success === 'function') given.success(res);
        resolve(res);
      };
      obj.fail = (res) => {
        if (typeof given.fail === 'function') given.fail(res);
        counts.rejected += 1;
        reject(res);
      };
      obj.complete = (res) => {
        if (typeof given.complete === 'function') given.complete(res);
      };
      task = fake[name](obj);
    });
    returned.push({ name, value: p });
    return { p, task: () => task };
  }

  for (const name of ASYNC_APIS) taro[name] = (args) => promisified(name, args).p;

  Object.defineProperty(taro, 'rejected', { get: () => counts.rejected });
  Object.assign(taro, {
    fake,
    returned,
    /** getNormalRequest: the promise, with abort() reaching the RequestTask. */
    request(args) {
      const { p, task } = promisified('request', args);
      p.abort = (cb) => {
        if (cb) cb();
        const t = task();
        if (t) t.abort();
        return p;
      };
      return p;
    },
  });
  return taro;
}
