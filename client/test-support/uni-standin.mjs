// A stand-in for uni-app's `uni` (Vue 3 build, compiled for mp-weixin) on top of the fake wx,
// so the client can be run as `createClient({ wx: uni })` against the real local stack.
// What it copies, from uni-app's own source (packages/uni-api/src/helpers/api/promise.ts and
// interceptor.ts in github.com/dcloudio/uni-app):
// - an asynchronous API called with a `success`, `fail` or `complete` callback returns what
//   the wx API returns (wx.request's RequestTask, or nothing), untouched;
// - called without one, it returns a Promise that resolves with what `success` would get
//   and rejects with what `fail` would get (Vue 2 builds resolved [err, res] instead);
// - `uni.addInterceptor(name, { invoke })`: once an API has an `invoke` hook, a call returns
//   a promise even with callbacks, and a hook whose promise rejects stops the call: neither
//   callback is ever called, and only that returned promise says so;
// - synchronous APIs (`*Sync`) and `on*` listeners are wx's own.
// Lives outside test/ because Node 20's `node --test <dir>` runs every .mjs under test/.

import { createFakeWx } from './fake-wx.mjs';

/** The asynchronous APIs the client may call, promisified as uni-app does. */
const ASYNC_APIS = ['login', 'request', 'showToast', 'showModal'];

const hasCallback = (args) => !!args && typeof args === 'object'
  && ['success', 'fail', 'complete'].some((name) => typeof args[name] === 'function');

/**
 * A `uni` for one fake user: createFakeWx's options (`sandboxUrl`, `openid`, `privacy`).
 * Everything of the fake wx (calls, requests, hooks, storage, idle(), …) is read through
 * it; `fake` is that fake wx. `returned` logs what each asynchronous call returned
 * (`{name, value}`), so a test can see which calls handed back a promise.
 */
export function createUniStandin(options) {
  const fake = createFakeWx(options);
  const uni = Object.create(fake);
  const invokeHooks = {};
  const returned = [];

  /** uni-app's invokeApi: the `invoke` hooks, then the API; a promise once there are hooks. */
  function invokeApi(name, args) {
    const hooks = invokeHooks[name] || [];
    if (!hooks.length) return fake[name](args);
    let chain = Promise.resolve(args);
    for (const hook of hooks) {
      chain = chain.then((current) => Promise.resolve(hook(current)).then((result) => {
        if (result === false) return new Promise(() => {}); // uni's API_INVOKE_ABORT
        return result || current;
      }));
    }
    return chain.then((current) => fake[name](current));
  }

  for (const name of ASYNC_APIS) {
    uni[name] = (args = {}) => {
      const value = hasCallback(args)
        ? invokeApi(name, Object.assign({}, args))
        : new Promise((resolve, reject) => {
          invokeApi(name, Object.assign({}, args, { success: resolve, fail: reject }));
        });
      returned.push({ name, value });
      return value;
    };
  }

  Object.assign(uni, {
    fake,
    returned,
    /** uni.addInterceptor(name, { invoke }): only the `invoke` hook is played. */
    addInterceptor(name, interceptor) {
      if (interceptor && typeof interceptor.invoke === 'function') {
        (invokeHooks[name] = invokeHooks[name] || []).push(interceptor.invoke);
      }
    },
  });
  return uni;
}
