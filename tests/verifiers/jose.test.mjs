// A JWT library no one here wrote (jose, pinned in package.json) verifies the stack's
// standard tokens through discovery alone: /.well-known/openid-configuration, then its
// jwks_uri; nothing from this repository is imported. Against a started stack
// (scripts/stack-tests.sh runs it inside scripts/dev.sh --run, which sets these):
//   npm ci --prefix tests/verifiers
//   WXLOGIN_API_URL=http://127.0.0.1:9200 WXLOGIN_SANDBOX_URL=http://127.0.0.1:9100 \
//   WXLOGIN_LAMBDA_URL=http://127.0.0.1:6666 WXLOGIN_SIGNING_KEYS_SECRET=wxlogin-signing-keys \
//   node --test tests/verifiers/jose.test.mjs
// The rotation test rotates the stack's signing keys as Secrets Manager does (the four steps,
// through the Lambda invoke API); every token stays verifiable through the JWKS, so other
// suites on the same stack are unaffected.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';

import * as jose from 'jose';

const ENV = ['WXLOGIN_API_URL', 'WXLOGIN_SANDBOX_URL', 'WXLOGIN_LAMBDA_URL', 'WXLOGIN_SIGNING_KEYS_SECRET'];
const missing = ENV.filter((name) => !process.env[name]);
if (missing.length > 0) {
  test('the local stack is configured', () =>
    assert.fail(`${missing.join(', ')} unset: run under scripts/dev.sh --run (see this file's header)`));
} else {
  liveTests({
    apiUrl: process.env.WXLOGIN_API_URL,
    sandboxUrl: process.env.WXLOGIN_SANDBOX_URL,
    lambdaUrl: process.env.WXLOGIN_LAMBDA_URL,
    secret: process.env.WXLOGIN_SIGNING_KEYS_SECRET,
  });
}

function liveTests({ apiUrl, sandboxUrl, lambdaUrl, secret }) {
  const PHONE = '13800138000';
  // make dev: a new key signs SIGNING_KEY_LEAD_SECONDS (8) after it is published, and the
  // token function re-reads the ring every second. Bounds, not sleeps: each wait polls.
  const PUBLISHED_WITHIN_MS = 2_500;
  const SIGNS_WITHIN_MS = 15_000;
  const POLL_MS = 100;

  /** `method url` with a JSON body; the parsed answer, or an error naming what was asked. */
  async function call(method, url, { body, bearer, expect = 200 } = {}) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = 'Bearer ' + bearer;
    const res = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    assert.equal(res.status, expect, `${method} ${url} answered ${res.status}: ${text}`);
    try {
      return JSON.parse(text);
    } catch {
      assert.fail(`${method} ${url} answered ${res.status} with no JSON: ${text}`);
    }
  }

  /** A new WeChat user logged in as README.md's walk does: {appid, openid, session}. */
  async function login() {
    const wx = await call('POST', sandboxUrl + '/sandbox/login', { body: {} });
    const answer = await call('POST', apiUrl + '/onlogin', { body: { code: wx.code, appid: wx.appid } });
    assert.equal(answer.openid, wx.openid, 'onlogin names the sandbox user');
    assert.equal(typeof answer.token, 'string', `onlogin gives a session token: ${JSON.stringify(answer)}`);
    return { appid: wx.appid, openid: wx.openid, session: answer.token };
  }

  /** The getPhoneNumber button's code, redeemed by /decrypt-phone: the number is bound. */
  async function bindPhone(user) {
    const phone = await call('POST', sandboxUrl + '/sandbox/phone', { body: { openid: user.openid, phoneNumber: PHONE } });
    const bound = await call('POST', apiUrl + '/decrypt-phone', { body: { code: phone.code }, bearer: user.session });
    assert.equal(bound.phoneNumber, PHONE, `decrypt-phone binds the number: ${JSON.stringify(bound)}`);
  }

  /** POST /token with the session: the standard token (a JWT). */
  async function standardToken(user) {
    const issued = await call('POST', apiUrl + '/token', { bearer: user.session });
    assert.equal(issued.token_type, 'Bearer', `token_type: ${JSON.stringify(issued)}`);
    assert.ok(Number.isInteger(issued.expires_in) && issued.expires_in > 0, `expires_in: ${JSON.stringify(issued)}`);
    assert.equal(typeof issued.access_token, 'string', `access_token: ${JSON.stringify(issued)}`);
    return issued.access_token;
  }

  const kidOf = (token) => jose.decodeProtectedHeader(token).kid;
  const getJwks = () => call('GET', discovery.jwks_uri);

  /**
   * One rotation as Secrets Manager runs it: the four steps under one ClientRequestToken,
   * invoking the signing-keys function. The kids of the ring it made current, signing
   * order (the new key last).
   */
  async function rotate() {
    const version = randomBytes(16).toString('hex'); // 32 characters, as a UUID's hex
    const url = `${lambdaUrl}/2015-03-31/functions/signing-keys/invocations`;
    let keys;
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      const { status, text } = await invoke(url, { SecretId: secret, ClientRequestToken: version, Step: step });
      let answer;
      try { answer = JSON.parse(text); } catch { assert.fail(`signing-keys ${step} answered ${status}: ${text}`); }
      assert.ok(status === 200 && !answer.errorType && Array.isArray(answer.keys),
        `signing-keys ${step} failed (${status}): ${text}`);
      keys = answer.keys;
    }
    return keys;
  }

  /**
   * POST `body` to the Lambda invoke API with node:http: fetch refuses its port, one of the
   * Fetch standard's bad ports, on purpose (lib.sh's BROWSER_BLOCKED_PORTS).
   */
  function invoke(url, body) {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, timeout: 60_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => { text += chunk; });
          res.on('end', () => resolve({ status: res.statusCode, text }));
          res.on('error', reject);
        });
      req.on('timeout', () => req.destroy(new Error(`POST ${url}: no answer within 60 s`)));
      req.on('error', (err) => reject(new Error(`POST ${url}: ${err.message}; is the stack running?`)));
      req.end(JSON.stringify(body));
    });
  }

  /** Polls `probe` every POLL_MS until it returns a truthy value, for at most `ms`. */
  async function until(ms, what, probe) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
      last = await probe();
      if (last.done) return last.value;
      if (Date.now() >= deadline) assert.fail(`${what}: not within ${ms} ms (last seen: ${last.seen})`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Asserts `promise` rejects with a jose error of `code` (and these fields); returns it. */
  async function rejected(promise, code, fields = {}) {
    let error;
    await assert.rejects(promise, (err) => { error = err; return true; }, `jose should refuse (${code})`);
    assert.ok(error instanceof jose.errors.JOSEError, `expected a jose error ${code}, got ${error}`);
    assert.equal(error.code, code, `jose's error code (message: ${error.message})`);
    for (const [key, value] of Object.entries(fields)) {
      assert.equal(error[key], value, `error.${key} (${error.code}: ${error.message})`);
    }
    return error;
  }

  let discovery; // the stack's discovery document, read once
  let jwks; // jose's remote key set, from discovery's jwks_uri alone
  let user; // one user with a session (no phone)
  let token; // a standard token of `user`
  let options; // what a relying party checks: our issuer, its app, RS256 only

  before(async () => {
    // cargo lambda watch compiles a function on its first request and after every change.
    const res = await fetch(apiUrl + '/.well-known/openid-configuration', { signal: AbortSignal.timeout(180_000) })
      .catch((err) => err);
    assert.ok(res.ok, `GET ${apiUrl}/.well-known/openid-configuration: ${res.message || res.status}; is the stack running?`);
    discovery = await res.json();
    jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
    user = await login();
    token = await standardToken(user);
    options = { issuer: discovery.issuer, audience: user.appid, algorithms: ['RS256'] };
  }, { timeout: 200_000 });

  test('discovery names the API as issuer and a JWKS under it, RS256', () => {
    assert.equal(discovery.issuer, apiUrl, 'issuer is the API URL, exactly as tokens carry it');
    assert.equal(typeof discovery.jwks_uri, 'string', 'jwks_uri');
    assert.ok(discovery.jwks_uri.startsWith(apiUrl + '/'), `jwks_uri ${discovery.jwks_uri} is under the issuer`);
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
  });

  test('a token verifies with the remote JWKS: RS256, our issuer, the app as audience, the openid as sub', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      ...options, typ: 'JWT', requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(typeof protectedHeader.kid, 'string', 'the header names its key');
    assert.equal(payload.iss, apiUrl);
    assert.equal(payload.sub, user.openid);
    assert.equal(payload.aud, user.appid);
    assert.equal(payload.appid, user.appid);
    assert.ok(payload.exp > Date.now() / 1000, `exp ${payload.exp} is in the future`);
    assert.ok(payload.iat <= Date.now() / 1000 + 1, `iat ${payload.iat} is not in the future`);
    assert.equal(payload.phone_number, undefined, 'no phone claims before a number is bound');
    assert.equal(payload.phone_number_verified, undefined);
  });

  test('after a phone is bound, the token carries OIDC phone claims', async () => {
    const phoned = await login();
    await bindPhone(phoned);
    const { payload } = await jose.jwtVerify(await standardToken(phoned), jwks, { ...options, audience: phoned.appid });
    assert.equal(payload.sub, phoned.openid);
    assert.equal(payload.phone_number, '+86' + PHONE);
    assert.equal(payload.phone_number_verified, true);
    assert.equal(payload.phone_verified_by, 'code');
    assert.ok(Number.isInteger(payload.phone_verified_at), `phone_verified_at: ${payload.phone_verified_at}`);
  });

  test('another audience is refused (aud)', async () => {
    await rejected(jose.jwtVerify(token, jwks, { ...options, audience: 'wx-another-mini-program' }),
      'ERR_JWT_CLAIM_VALIDATION_FAILED', { claim: 'aud', reason: 'check_failed' });
  });

  test('another issuer is refused (iss)', async () => {
    await rejected(jose.jwtVerify(token, jwks, { ...options, issuer: 'https://issuer.invalid' }),
      'ERR_JWT_CLAIM_VALIDATION_FAILED', { claim: 'iss', reason: 'check_failed' });
  });

  test('an expired token is refused (a clock past exp)', async () => {
    const { exp } = jose.decodeJwt(token);
    await rejected(jose.jwtVerify(token, jwks, { ...options, currentDate: new Date((exp + 1) * 1000) }),
      'ERR_JWT_EXPIRED', { claim: 'exp' });
  });

  test('a tampered payload (another sub) is refused', async () => {
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(jose.base64url.decode(payload)));
    const forged = jose.base64url.encode(JSON.stringify({ ...claims, sub: 'o_someone_else' }));
    assert.notEqual(forged, payload);
    await rejected(jose.jwtVerify(`${header}.${forged}.${signature}`, jwks, options),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('the same claims signed by a key that is not ours, under our kid, are refused', async () => {
    const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048 });
    const forged = await new jose.SignJWT(jose.decodeJwt(token))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: kidOf(token) })
      .sign(privateKey);
    await rejected(jose.jwtVerify(forged, jwks, options), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('alg "none" and HS256 (keyed with our public key) are refused', async () => {
    const [, payload] = token.split('.');
    const encodeHeader = (alg) => jose.base64url.encode(JSON.stringify({ alg, typ: 'JWT', kid: kidOf(token) }));
    const unsigned = `${encodeHeader('none')}.${payload}.`;
    // The classic confusion: HMAC keyed with the public key's PEM, which anyone can read.
    const published = (await getJwks()).keys.find((key) => key.kid === kidOf(token));
    assert.ok(published, `the JWKS lists the token's key ${kidOf(token)}`);
    const pem = await jose.exportSPKI(await jose.importJWK(published, 'RS256', { extractable: true }));
    const secret = new TextEncoder().encode(pem);
    const hs256 = await new jose.SignJWT(jose.decodeJwt(token))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: kidOf(token) })
      .sign(secret);
    for (const [name, forged] of [['none', unsigned], ['HS256', hs256]]) {
      // As relying parties should call it: RS256 only.
      await rejected(jose.jwtVerify(forged, jwks, options), 'ERR_JOSE_ALG_NOT_ALLOWED');
      // And without the algorithms option: a JWKS selects keys for asymmetric algs only.
      const lax = { ...options };
      delete lax.algorithms;
      await rejected(jose.jwtVerify(forged, jwks, lax), 'ERR_JOSE_NOT_SUPPORTED');
    }
  });

  test('key rotation never fails a verification', async () => {
    // (a) a token of the key signing now, and a remote set that has fetched the JWKS
    // (it re-fetches on an unknown kid: cooldownDuration 0, as make dev's lead is 8 s).
    const t1 = await standardToken(user);
    const a = kidOf(t1);
    const eager = jose.createRemoteJWKSet(new URL(discovery.jwks_uri), { cooldownDuration: 0 });
    await jose.jwtVerify(t1, eager, options);
    const before = (await getJwks()).keys.map((key) => key.kid);
    assert.equal(before[0], a, `the JWKS lists the signing key first: ${before}`);

    // (b) one rotation: the new key is the ring's last.
    const ring = await rotate();
    const b = ring.at(-1);
    assert.ok(ring.includes(a), `the rotated ring ${ring} keeps the signing key ${a}`);
    assert.ok(!before.includes(b), `the new key ${b} was not published before the rotation (${before})`);
    // Keys already waiting to sign (another rotation's) would sign before b.
    const waiting = ring.slice(ring.indexOf(a) + 1, -1);

    // (c) the JWKS lists b once the token function re-read the ring (every second), which
    // is before b signs; this one response is the snapshot of a verifier that cached it.
    const snapshotJwks = await until(PUBLISHED_WITHIN_MS, `the JWKS lists the new key ${b}`, async () => {
      const published = await getJwks();
      const kids = published.keys.map((key) => key.kid);
      return { done: kids.includes(b), value: published, seen: kids.join(',') };
    });
    const snapshot = jose.createLocalJWKSet(snapshotJwks);
    const t2 = await standardToken(user);
    if (waiting.length === 0) {
      assert.equal(kidOf(t2), a, `right after the rotation, /token still signs with ${a} (b=${b} is only published)`);
    } else {
      assert.notEqual(kidOf(t2), b, `b=${b} must not sign yet: keys ${waiting} sign before it`);
    }
    assert.ok(snapshotJwks.keys.some((key) => key.kid === a), `the snapshot still lists ${a}`);

    // (d) /token signs with b within the lead.
    const t3 = await until(SIGNS_WITHIN_MS, `/token signs with the new key ${b}`, async () => {
      const t = await standardToken(user);
      const kid = kidOf(t);
      assert.ok(ring.includes(kid), `/token signed with ${kid}, not a key of the ring ${ring}`);
      return { done: kid === b, value: t, seen: kid };
    });

    // (e) the token of the new key verifies with the JWKS cached before it signed; the old
    // key's tokens verify with a fresh remote set (it is still published) and the snapshot.
    const verified = await jose.jwtVerify(t3, snapshot, options);
    assert.equal(verified.protectedHeader.kid, b);
    assert.equal(verified.payload.sub, user.openid);
    const fresh = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
    for (const [name, t] of [['T1 (old key)', t1], ['T2 (right after the rotation)', t2], ['T3 (new key)', t3]]) {
      for (const [set, keys] of [['a fresh remote JWKS', fresh], ['the snapshot', snapshot],
        ['the remote set fetched before the rotation', eager]]) {
        const { payload } = await jose.jwtVerify(t, keys, options).catch((err) =>
          assert.fail(`${name} did not verify with ${set}: ${err.code} ${err.message}`));
        assert.equal(payload.sub, user.openid);
      }
    }
  }, { timeout: 60_000 });
}
