"""A JWT library no one here wrote (PyJWT, pinned in requirements.txt) verifies the stack's
standard tokens through discovery alone: /.well-known/openid-configuration, then its
jwks_uri through jwt.PyJWKClient. Only HTTP to the stack and the standard library's
unittest. Against a started stack (scripts/stack-tests.sh runs it inside
scripts/dev.sh --run, which sets these, with the venv of lib.sh's ensure_verifier_venv):

    WXLOGIN_API_URL=http://127.0.0.1:9200 WXLOGIN_SANDBOX_URL=http://127.0.0.1:9100 \\
    WXLOGIN_LAMBDA_URL=http://127.0.0.1:6666 WXLOGIN_SIGNING_KEYS_SECRET=wxlogin-signing-keys \\
    .cache/verifiers-venv/bin/python tests/verifiers/test_pyjwt.py

The rotation test rotates the stack's signing keys as Secrets Manager does; every token
stays verifiable through the JWKS, so other suites on the same stack are unaffected.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import time
import unittest
import urllib.error
import urllib.request
from unittest import mock

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ENV = ("WXLOGIN_API_URL", "WXLOGIN_SANDBOX_URL", "WXLOGIN_LAMBDA_URL", "WXLOGIN_SIGNING_KEYS_SECRET")
PHONE = "13800138000"
REQUIRED = ["iss", "sub", "aud", "iat", "exp", "jti"]
# make dev: a new key signs SIGNING_KEY_LEAD_SECONDS (8) after it is published, and the
# token function re-reads the ring every second. Bounds, not sleeps: each wait polls.
PUBLISHED_WITHIN = 2.5
SIGNS_WITHIN = 15.0
POLL = 0.1


def env(name):
    return os.environ[name]


def call(method, url, body=None, bearer=None, expect=200, timeout=30):
    """`method url` with a JSON body: the parsed answer, or an AssertionError naming it."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if bearer:
        request.add_header("authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    except (urllib.error.URLError, TimeoutError) as err:
        raise AssertionError(f"{method} {url}: {getattr(err, 'reason', err)}; is the stack running?") from err
    if status != expect:
        raise AssertionError(f"{method} {url} answered {status} (expected {expect}): {text}")
    try:
        return json.loads(text)
    except ValueError as err:
        raise AssertionError(f"{method} {url} answered {status} with no JSON: {text}") from err


def login():
    """A new WeChat user logged in as README.md's walk does."""
    wx = call("POST", env("WXLOGIN_SANDBOX_URL") + "/sandbox/login", body={})
    answer = call("POST", env("WXLOGIN_API_URL") + "/onlogin", body={"code": wx["code"], "appid": wx["appid"]})
    assert answer.get("openid") == wx["openid"], f"onlogin names the sandbox user: {answer}"
    return {"appid": wx["appid"], "openid": wx["openid"], "session": answer["token"]}


def bind_phone(user):
    """The getPhoneNumber button's code, redeemed by /decrypt-phone: the number is bound."""
    phone = call("POST", env("WXLOGIN_SANDBOX_URL") + "/sandbox/phone",
                 body={"openid": user["openid"], "phoneNumber": PHONE})
    bound = call("POST", env("WXLOGIN_API_URL") + "/decrypt-phone", body={"code": phone["code"]},
                 bearer=user["session"])
    assert bound.get("phoneNumber") == PHONE, f"decrypt-phone binds the number: {bound}"


def standard_token(user):
    """POST /token with the session: the standard token (a JWT)."""
    issued = call("POST", env("WXLOGIN_API_URL") + "/token", bearer=user["session"])
    assert issued.get("token_type") == "Bearer", f"token_type: {issued}"
    assert isinstance(issued.get("expires_in"), int) and issued["expires_in"] > 0, f"expires_in: {issued}"
    return issued["access_token"]


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rotate():
    """One rotation as Secrets Manager runs it: the four steps under one
    ClientRequestToken. The kids of the ring it made current, in signing order (the new
    key last)."""
    version = secrets.token_hex(16)  # 32 characters, as a UUID's hex
    url = env("WXLOGIN_LAMBDA_URL") + "/2015-03-31/functions/signing-keys/invocations"
    keys = None
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": env("WXLOGIN_SIGNING_KEYS_SECRET"), "ClientRequestToken": version, "Step": step}
        answer = call("POST", url, body=event, timeout=60)
        assert "errorType" not in answer and isinstance(answer.get("keys"), list), \
            f"signing-keys {step} failed: {answer}"
        keys = answer["keys"]
    return keys


def until(seconds, what, probe):
    """Calls `probe` every POLL s until it answers (True, value, seen), for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        done, value, seen = probe()
        if done:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {seconds} s (last seen: {seen})")
        time.sleep(POLL)


class CountingClient(jwt.PyJWKClient):
    """PyJWT's JWKS client, counting its fetches of the JWKS."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fetches = 0

    def fetch_data(self):
        self.fetches += 1
        return super().fetch_data()


class PyJWTVerifiesTheStacksTokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [name for name in ENV if not os.environ.get(name)]
        if missing:
            raise AssertionError(f"{', '.join(missing)} unset: run under scripts/dev.sh --run (see this file's docstring)")
        cls.api = env("WXLOGIN_API_URL")
        # cargo lambda watch compiles a function on its first request and after every change.
        cls.discovery = call("GET", cls.api + "/.well-known/openid-configuration", timeout=180)
        cls.issuer = cls.discovery["issuer"]
        cls.client = jwt.PyJWKClient(cls.discovery["jwks_uri"])
        cls.user = login()
        cls.token = standard_token(cls.user)

    def verify(self, token, client=None, audience=None, issuer=None, **kwargs):
        """What a relying party does: the key by the token's kid from the JWKS, then RS256
        only, our issuer, its app as audience."""
        key = (client or self.client).get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience or self.user["appid"],
                          issuer=issuer or self.issuer, options={"require": REQUIRED}, **kwargs)

    def test_discovery_names_the_api_as_issuer_and_a_jwks_under_it(self):
        self.assertEqual(self.discovery["issuer"], self.api, "issuer is the API URL, exactly as tokens carry it")
        self.assertTrue(self.discovery["jwks_uri"].startswith(self.api + "/"),
                        f"jwks_uri {self.discovery['jwks_uri']} is under the issuer")
        self.assertEqual(self.discovery["id_token_signing_alg_values_supported"], ["RS256"])

    def test_a_token_verifies_through_the_jwks(self):
        header = jwt.get_unverified_header(self.token)
        self.assertEqual((header["alg"], header["typ"]), ("RS256", "JWT"))
        claims = self.verify(self.token)
        self.assertEqual(claims["iss"], self.api)
        self.assertEqual(claims["sub"], self.user["openid"])
        self.assertEqual(claims["aud"], self.user["appid"])
        self.assertEqual(claims["appid"], self.user["appid"])
        self.assertNotIn("phone_number", claims, "no phone claims before a number is bound")

    def test_after_a_phone_is_bound_the_token_carries_oidc_phone_claims(self):
        user = login()
        bind_phone(user)
        claims = self.verify(standard_token(user), audience=user["appid"])
        self.assertEqual(claims["sub"], user["openid"])
        self.assertEqual(claims["phone_number"], "+86" + PHONE)
        self.assertIs(claims["phone_number_verified"], True)
        self.assertEqual(claims["phone_verified_by"], "code")
        self.assertIsInstance(claims["phone_verified_at"], int)

    def test_another_audience_is_refused(self):
        with self.assertRaises(jwt.InvalidAudienceError):
            self.verify(self.token, audience="wx-another-mini-program")

    def test_another_issuer_is_refused(self):
        with self.assertRaises(jwt.InvalidIssuerError):
            self.verify(self.token, issuer="https://issuer.invalid")

    def test_an_expired_token_is_refused(self):
        # A verifier whose clock reads one second past exp, every other check on (a
        # negative leeway would trip the iat check first).
        exp = jwt.decode(self.token, options={"verify_signature": False})["exp"]

        class PastExp(datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.datetime.fromtimestamp(exp + 1, tz)

        self.assertTrue(hasattr(jwt.api_jwt, "datetime"), "PyJWT reads its clock from jwt.api_jwt.datetime")
        with mock.patch.object(jwt.api_jwt, "datetime", PastExp):
            with self.assertRaises(jwt.ExpiredSignatureError):
                self.verify(self.token)
        self.verify(self.token)  # the clock back: the same token verifies

    def test_a_tampered_payload_is_refused(self):
        header, payload, signature = self.token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged = b64url(json.dumps({**claims, "sub": "o_someone_else"}).encode())
        with self.assertRaises(jwt.InvalidSignatureError):
            self.verify(f"{header}.{forged}.{signature}")

    def test_the_same_claims_signed_by_a_key_not_ours_are_refused(self):
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims = jwt.decode(self.token, options={"verify_signature": False})
        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid_of(self.token), "typ": "JWT"})
        with self.assertRaises(jwt.InvalidSignatureError):
            self.verify(forged)

    def test_alg_none_and_hs256_keyed_with_our_public_key_are_refused(self):
        kid = kid_of(self.token)
        _, payload, _ = self.token.split(".")

        def head(alg):
            return b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())

        unsigned = f"{head('none')}.{payload}."
        # The classic confusion: HMAC keyed with the public key's PEM, which anyone can read.
        published = self.client.get_signing_key(kid)
        pem = published.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = f"{head('HS256')}.{payload}"
        hs256 = f"{signing_input}.{b64url(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"
        for name, forged in (("none", unsigned), ("HS256", hs256)):
            with self.subTest(alg=name), self.assertRaises(jwt.InvalidAlgorithmError):
                self.verify(forged)
            # A lax verifier listing HS256 too, handed the JWK (which knows it is RS256).
            with self.subTest(alg=name, lax=True), self.assertRaises(jwt.InvalidAlgorithmError):
                jwt.decode(forged, published, algorithms=["RS256", "HS256"], audience=self.user["appid"],
                           issuer=self.issuer)

    def test_key_rotation_never_fails_a_verification(self):
        jwks_uri = self.discovery["jwks_uri"]
        user = login()
        t1 = standard_token(user)
        a = kid_of(t1)
        # Two clients that fetched the JWKS before the rotation. make dev's lead is 8 s, far
        # below PyJWT's defaults (the set cached 300 s; an unknown kid refetches only 30 s
        # after the last fetch), so each is scaled down as AWS's 3 h lead is to them:
        # `eager` refetches on an unknown kid at once, `short` keeps the set 1 s.
        eager = CountingClient(jwks_uri, cooldown_duration=0)
        short = CountingClient(jwks_uri, lifespan=1)
        for client in (eager, short):
            self.verify(t1, client, audience=user["appid"])
        self.assertEqual((eager.fetches, short.fetches), (1, 1))
        before = [key["kid"] for key in call("GET", jwks_uri)["keys"]]
        self.assertEqual(before[0], a, f"the JWKS lists the signing key first: {before}")

        ring = rotate()
        b = ring[-1]
        self.assertIn(a, ring, f"the rotated ring keeps the signing key {a}")
        self.assertNotIn(b, before, f"the new key {b} was not published before the rotation")
        waiting = ring[ring.index(a) + 1:-1]  # another rotation's keys, due before b

        def published():
            kids = [key["kid"] for key in call("GET", jwks_uri)["keys"]]
            return b in kids, kids, kids

        # b is published (once the token function re-read the ring, every second) before it
        # signs: a token taken then is still the old key's, and the set fetched before the
        # rotation verifies it.
        until(PUBLISHED_WITHIN, f"the JWKS lists the new key {b}", published)
        t2 = standard_token(user)
        if waiting:
            self.assertNotEqual(kid_of(t2), b, f"{b} must not sign yet: {waiting} sign before it")
        else:
            self.assertEqual(kid_of(t2), a, f"once {b} is published, /token still signs with {a}")
        self.verify(t2, eager, audience=user["appid"])

        def signed():
            token = standard_token(user)
            kid = kid_of(token)
            self.assertIn(kid, ring, f"/token signed with {kid}, not a key of the ring")
            return kid == b, token, kid

        t3 = until(SIGNS_WITHIN, f"/token signs with the new key {b}", signed)

        fetched = eager.fetches
        self.assertEqual(eager.get_signing_key_from_jwt(t3).key_id, b)
        self.assertEqual(eager.fetches, fetched + 1, "an unknown kid made the client fetch the JWKS once more")
        for name, token in (("T1 (old key)", t1), ("T2 (old key, after the rotation)", t2), ("T3 (new key)", t3)):
            for label, client in (("eager", eager), ("short", short), ("fresh", jwt.PyJWKClient(jwks_uri))):
                with self.subTest(token=name, client=label):
                    try:
                        claims = self.verify(token, client, audience=user["appid"])
                    except jwt.PyJWTError as err:
                        self.fail(f"{name} did not verify with the {label} client: {type(err).__name__}: {err}")
                    self.assertEqual(claims["sub"], user["openid"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
