"""Issue 6.2: attacks on the access tokens of a running service.

Every forged, broken, expired or orphaned token must get 401 problem+json with a
`WWW-Authenticate: Bearer` challenge, on a read and on a write route, and the writes
must leave nothing behind; a valid token (the control) must still work, and an ordinary
user on an administrator route must get 403. The SQLite run also sets JWT_AUDIENCE and
JWT_ISSUER, so audience and issuer attacks are tried there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from combos import TEST_SECRET, Combo
from reliability import (
    PG_REDIS_JWT,
    SQLITE_DEFAULT,
    assert_clean_log,
    assert_problem,
    figure,
    generate,
    migrate,
    promote,
    service_env,
    sign_up,
    sql,
    sqlite_url,
)
from service import Service

pytestmark = pytest.mark.slow

AUDIENCE = "reliability-api"
ISSUER = "https://issuer.example"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: object) -> str:
    return _b64(json.dumps(value).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None, digest: Any) -> str:
    """A JWS built by hand, so any header and any HMAC key can be used (PyJWT refuses some)."""
    signing_input = f"{_json(header)}.{_json(claims)}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64(signature)}"


class Tokens:
    """Claims and tokens for one service configuration."""

    def __init__(self, *, audience: str | None, issuer: str | None) -> None:
        self.audience = audience
        self.issuer = issuer
        self.secret = TEST_SECRET.encode()

    def claims(self, sub: object = None, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + 600}
        if self.audience:
            claims["aud"] = self.audience
        if self.issuer:
            claims["iss"] = self.issuer
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    def hs256(self, claims: dict[str, Any], key: bytes | None = None) -> str:
        header = {"alg": "HS256", "typ": "JWT"}
        return forge(header, claims, self.secret if key is None else key, hashlib.sha256)


def attacks(tokens: Tokens, victim: str, ghost: str, admin: str) -> dict[str, str]:
    """Authorization header values, by attack name. `victim` is a live user's id,
    `ghost` a deleted user's, `admin` an administrator's."""
    valid = tokens.claims(victim)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    genuine = tokens.hs256(valid)
    head, _, signature = genuine.split(".")
    other_secret = b"another-secret-of-the-same-length-0123456789abcdef"
    none_header = {"alg": "none", "typ": "JWT"}
    bearer = {
        # Algorithm attacks.
        "alg none": forge(none_header, valid, None, None),
        "alg None": forge({"alg": "None"}, valid, None, None),
        "alg NONE with a signature": forge({"alg": "NONE"}, valid, tokens.secret, hashlib.sha256),
        "alg none, the real signature kept": f"{_json(none_header)}.{_json(valid)}.{signature}",
        "HS256 keyed with the RSA public key (RS/HS confusion)": tokens.hs256(
            valid, rsa_public_pem
        ),
        "RS256 signed with an attacker's RSA key": jwt.encode(valid, rsa_key, algorithm="RS256"),
        "ES256 signed with an attacker's EC key": jwt.encode(valid, ec_key, algorithm="ES256"),
        "HS512 with the right secret (algorithm not allowed)": forge(
            {"alg": "HS512"}, valid, tokens.secret, hashlib.sha512
        ),
        "HS384 with the right secret (algorithm not allowed)": forge(
            {"alg": "HS384"}, valid, tokens.secret, hashlib.sha384
        ),
        # Keys and signatures.
        "signed with another secret": tokens.hs256(valid, other_secret),
        "signed with an empty secret": tokens.hs256(valid, b""),
        "signature stripped": f"{head}.{_json(valid)}.",
        "payload swapped to the administrator, signature kept": (
            f"{head}.{_json(tokens.claims(admin))}.{signature}"
        ),
        "signature of another token": (
            f"{head}.{_json(tokens.claims(victim, exp=2**31))}.{signature}"
        ),
        # Time.
        "expired": tokens.hs256(
            tokens.claims(victim, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)
        ),
        "not yet valid (nbf in an hour)": tokens.hs256(
            tokens.claims(victim, nbf=int(time.time()) + 3600)
        ),
        "issued in the future (iat in an hour)": tokens.hs256(
            tokens.claims(victim, iat=int(time.time()) + 3600)
        ),
        "exp not a number": tokens.hs256(tokens.claims(victim, exp="tomorrow")),
        # Claims.
        "no sub": tokens.hs256(tokens.claims(None)),
        "no exp": tokens.hs256({k: v for k, v in valid.items() if k != "exp"}),
        "no iat": tokens.hs256({k: v for k, v in valid.items() if k != "iat"}),
        "sub an integer": tokens.hs256(tokens.claims(int(victim))),
        "sub not a number": tokens.hs256(tokens.claims("admin")),
        "sub negative": tokens.hs256(tokens.claims("-1")),
        "sub zero": tokens.hs256(tokens.claims("0")),
        "sub a float": tokens.hs256(tokens.claims(f"{victim}.0")),
        "sub beyond the id range": tokens.hs256(tokens.claims("99999999999")),
        "sub of 5000 digits": tokens.hs256(tokens.claims("9" * 5000)),
        "sub with unicode digits": tokens.hs256(tokens.claims("١٢")),
        "sub of an unknown user": tokens.hs256(tokens.claims("424242")),
        "sub of a deleted user": tokens.hs256(tokens.claims(ghost)),
        # Malformed.
        "one segment": "abc",
        "two segments": "abc.def",
        "four segments": f"{genuine}.abc",
        "only dots": "...",
        "not base64": "!!!.$$$.%%%",
        "header not JSON": f"{_b64(b'not json')}.{_json(valid)}.{signature}",
        "header a JSON list": f"{_json(['HS256'])}.{_json(valid)}.{signature}",
        "header without alg": forge({"typ": "JWT"}, valid, tokens.secret, hashlib.sha256),
        "payload not JSON": f"{head}.{_b64(b'not json')}.{signature}",
        "payload a JSON list": tokens.hs256([victim]),  # type: ignore[arg-type]
        "oversized, 8 KiB": "a" * 8192,
        "oversized, 16 KiB token with a valid header": f"{head}.{'A' * 16384}.{signature}",
    }
    headers = {name: f"Bearer {token}" for name, token in bearer.items()}
    if tokens.audience:
        headers["wrong audience"] = f"Bearer {tokens.hs256(tokens.claims(victim, aud='other-api'))}"
        no_aud = {k: v for k, v in valid.items() if k != "aud"}
        headers["no audience"] = f"Bearer {tokens.hs256(no_aud)}"
    if tokens.issuer:
        headers["wrong issuer"] = (
            f"Bearer {tokens.hs256(tokens.claims(victim, iss='https://evil.example'))}"
        )
        no_iss = {k: v for k, v in valid.items() if k != "iss"}
        headers["no issuer"] = f"Bearer {tokens.hs256(no_iss)}"
    # Not bearer tokens at all.
    headers["Basic credentials"] = "Basic " + base64.b64encode(b"admin:admin").decode()
    headers["scheme only"] = "Bearer"
    headers["other scheme"] = f"Token {genuine}"
    return headers


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(PG_REDIS_JWT, id=PG_REDIS_JWT.id, marks=pytest.mark.xdist_group("rel-jwt")),
        pytest.param(
            SQLITE_DEFAULT, id=SQLITE_DEFAULT.id, marks=pytest.mark.xdist_group("rel-jwt")
        ),
    ],
)
def test_token_attacks_get_401_and_non_admins_get_403(
    combo: Combo,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    project = generate(combo, tmp_path_factory, "jwt")
    postgres = None
    if combo.db == "postgresql":
        postgres = request.getfixturevalue("postgres_server")
        env = service_env(DATABASE_URL=postgres.create_database())
        tokens = Tokens(audience=None, issuer=None)
    else:
        env = service_env(
            DATABASE_URL=sqlite_url(project), JWT_AUDIENCE=AUDIENCE, JWT_ISSUER=ISSUER
        )
        tokens = Tokens(audience=AUDIENCE, issuer=ISSUER)
    if combo.redis:
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url_for_db(2)
        env["CACHE_PREFIX"] = f"jwt-{combo.id}:"
    migrate(project, env)

    with Service(project, combo.package, env) as service:
        client = service.client
        user = sign_up(client, "victim@example.com")
        admin = sign_up(client, "admin@example.com")
        ghost = sign_up(client, "ghost@example.com")
        promote(env, "admin@example.com", postgres)
        ids = {row.split("|")[0]: row.split("|")[1] for row in _users(env, postgres)}
        sql(env, "DELETE FROM users WHERE email = 'ghost@example.com'", postgres)
        retired = sign_up(client, "retired@example.com")
        sql(env, "UPDATE users SET is_active = false WHERE email = 'retired@example.com'", postgres)

        tried = attacks(
            tokens, ids["victim@example.com"], ids["ghost@example.com"], ids["admin@example.com"]
        )
        tried["a deleted user's own token"] = ghost["Authorization"]
        tried["a deactivated user's own token"] = retired["Authorization"]
        for name, value in tried.items():
            for method, path in (("GET", "/users/me"), ("POST", "/items"), ("GET", "/users")):
                response = client.request(
                    method, path, headers={"Authorization": value}, json={"title": f"by {name}"}
                )
                _assert_unauthorized(response, f"{name} on {method} {path}")
        # A header that is not ASCII text: sent as raw bytes.
        raw = client.get("/users/me", headers={b"Authorization": "Bearer ä.ö.ü".encode()})
        _assert_unauthorized(raw, "latin-1 bytes in the token")
        missing = client.get("/users/me")
        _assert_unauthorized(missing, "no Authorization header")
        attack_count = len(tried) + 2
        request_count = len(tried) * 3 + 2

        # Controls: the genuine tokens work, so the 401s above are the tokens' fault.
        assert client.get("/users/me", headers=user).json()["email"] == "victim@example.com"
        assert client.get("/users", headers=admin).status_code == 200
        # An ordinary user on an administrator route.
        forbidden = client.get("/users", headers=user)
        assert assert_problem(forbidden, 403)["detail"] == "Administrator role required."
        # No forged request wrote anything.
        listed = client.get("/items", headers=admin)
        assert listed.json()["total"] == 0, listed.text
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    figure(
        record_property,
        f"{combo.id}: {attack_count} token attacks, {request_count} requests on 3 routes, "
        "all 401 with WWW-Authenticate; non-admin on an admin route 403",
    )


def _users(env: dict[str, str], postgres: Any) -> list[str]:
    return sql(env, "SELECT email, id FROM users", postgres).splitlines()


def _assert_unauthorized(response: httpx.Response, what: str) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), (what, challenge)
    assert_problem(response, 401)
