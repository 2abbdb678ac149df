"""The token signing port (ports/signing.py): the KMS adapter against moto's KMS, the key-file adapter,
rotation by kid, and what verification accepts (core/auth.py)."""
from __future__ import annotations

import base64
import json

import boto3
import jwt
import pytest
from moto import mock_aws

from chalicelib.ports import signing

REGION = "cn-northwest-1"


@pytest.fixture()
def kms():
    with mock_aws():
        yield boto3.client("kms", region_name=REGION)


def _key(kms, spec: str = "RSA_2048", usage: str = "SIGN_VERIFY") -> str:
    return kms.create_key(KeyUsage=usage, KeySpec=spec)["KeyMetadata"]["Arn"]


def _signer(kms, *key_ids: str) -> signing.KmsSigner:
    s = signing.KmsSigner(list(key_ids))
    s._client = lambda: kms  # the moto client of this test's region
    return s


def _header(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def _token(s, claims: dict | None = None) -> str:
    key = s.active()
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    signing_input = f"{signing.b64url(json.dumps(header).encode())}.{signing.b64url(json.dumps(claims or {'sub': 'u1'}).encode())}"
    _, _, signature = s.sign(signing_input.encode())
    return f"{signing_input}.{signing.b64url(signature)}"


def _verify(token: str, jwks: dict) -> dict:
    kid = _header(token)["kid"]
    jwk = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    return jwt.decode(token, jwk.key, algorithms=[jwk.algorithm_name])


@pytest.mark.parametrize("spec,alg,kty", [("RSA_2048", "RS256", "RSA"), ("ECC_NIST_P256", "ES256", "EC")])
def test_given_a_kms_key_when_signing_then_the_jws_verifies_with_its_public_jwk(kms, spec, alg, kty):
    s = _signer(kms, _key(kms, spec))
    token = _token(s, {"sub": "u1", "name": "王经理"})
    assert _header(token)["alg"] == alg
    jwks = s.jwks()
    assert [k["kty"] for k in jwks["keys"]] == [kty] and jwks["keys"][0]["alg"] == alg
    assert "d" not in jwks["keys"][0]  # public parts only
    assert _verify(token, jwks)["name"] == "王经理"


def test_given_an_ecc_key_when_signing_then_the_signature_is_raw_r_s_not_der(kms):
    s = _signer(kms, _key(kms, "ECC_NIST_P256"))
    signature = base64.urlsafe_b64decode(_token(s).split(".")[2] + "==")
    assert len(signature) == 64  # JWS ES256: r || s, 32 bytes each; KMS answers DER (70-72 bytes)


def test_given_two_keys_when_rotating_then_the_first_signs_and_both_verify(kms):
    old, new = _key(kms), _key(kms, "ECC_NIST_P256")
    before = _signer(kms, old)
    old_token = _token(before)
    after = _signer(kms, new, old)
    new_token = _token(after)
    jwks = after.jwks()
    assert len({k["kid"] for k in jwks["keys"]}) == 2
    assert _header(new_token)["kid"] == after.active().kid != _header(old_token)["kid"]
    assert _verify(old_token, jwks) and _verify(new_token, jwks)
    # the old key dropped: its tokens name a kid no longer published
    assert _header(old_token)["kid"] not in {k["kid"] for k in _signer(kms, new).jwks()["keys"]}


def test_given_the_same_key_when_read_by_two_containers_then_the_kid_is_the_same(kms):
    arn = _key(kms)
    assert _signer(kms, arn).active().kid == _signer(kms, arn).active().kid


def test_given_an_alias_moved_to_a_new_key_when_signing_then_the_token_names_the_new_key(kms):
    first, second = _key(kms), _key(kms)
    kms.create_alias(AliasName="alias/crm-test-token", TargetKeyId=first)
    s = _signer(kms, "alias/crm-test-token")
    kid_before = s.active().kid
    kms.update_alias(AliasName="alias/crm-test-token", TargetKeyId=second)
    kid, _, _ = s.sign(b"header.claims")
    assert kid != kid_before and kid == s.active().kid


def test_given_a_public_key_read_once_when_signing_many_then_get_public_key_is_not_called_again(kms):
    s = _signer(kms, _key(kms))
    calls = []
    real = kms.get_public_key
    kms.get_public_key = lambda **kw: calls.append(kw) or real(**kw)
    for _ in range(5):
        _token(s)
        s.jwks()
    assert len(calls) == 1


@pytest.mark.parametrize("spec,usage", [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("RSA_2048", "ENCRYPT_DECRYPT")])
def test_given_a_key_that_cannot_sign_when_used_then_refused(kms, spec, usage):
    s = _signer(kms, _key(kms, spec, usage))
    with pytest.raises(Exception):  # noqa: B017 - KMS (symmetric key) or our check (encryption key) refuses
        s.active()


def test_given_a_message_over_the_raw_limit_when_signing_with_kms_then_refused(kms):
    with pytest.raises(ValueError):
        _signer(kms, _key(kms)).sign(b"x" * (signing.KMS_RAW_LIMIT + 1))


def test_given_two_key_files_when_rotating_then_the_first_signs_and_both_verify(tmp_path):
    old_file, new_file = str(tmp_path / "old.pem"), str(tmp_path / "new.pem")
    old_token = _token(signing.SoftwareSigner([old_file]))
    both = signing.SoftwareSigner([new_file, old_file])
    new_token = _token(both)
    assert _header(new_token)["kid"] != _header(old_token)["kid"]
    assert _verify(old_token, both.jwks()) and _verify(new_token, both.jwks())


def test_given_rfc7638_example_key_when_thumbprinted_then_the_kid_matches_the_rfc():
    jwk = {"kty": "RSA", "e": "AQAB", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n"
        "91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")}
    assert signing.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
