"""DPoP proofs for the gateway benchmark (scripts/bench/gateway_dpop.sh).

  dpop_proofs.py token KEY.pem TOKEN_URL CLIENT_ID CLIENT_SECRET   -> prints a DPoP-bound token
  dpop_proofs.py proofs KEY.pem URL TOKEN COUNT OUT [IAT_OFFSET]   -> COUNT proofs, one a line

The key file is created on first use. Proofs are for GET URL, each with its own jti and
`iat = now + IAT_OFFSET` (default 30 s), so they stay inside the server's ±60 s window for
90 s after they are made.
"""

import base64
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key(path: str) -> ec.EllipticCurvePrivateKey:
    if not os.path.exists(path):
        key = ec.generate_private_key(ec.SECP256R1())
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def make_header(key) -> str:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}
    return b64url(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk},
                             separators=(",", ":")).encode())


def proof(key, header: str, method: str, url: str, iat: int, jti: str,
          ath: str | None = None, nonce: str | None = None) -> str:
    claims = {"jti": jti, "htm": method, "htu": url, "iat": iat}
    if ath:
        claims["ath"] = ath
    if nonce:
        claims["nonce"] = nonce
    signing_input = header + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def token(key_path, token_url, client_id, client_secret) -> None:
    key = load_key(key_path)
    header = make_header(key)
    body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    nonce = None
    for attempt in range(2):
        request = urllib.request.Request(token_url, data=body, method="POST", headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "DPoP": proof(key, header, "POST", token_url, int(time.time()),
                          f"tok-{time.time_ns()}", nonce=nonce),
        })
        try:
            with urllib.request.urlopen(request) as response:
                answer = json.load(response)
                assert answer["token_type"] == "DPoP", answer
                print(answer["access_token"])
                return
        except urllib.error.HTTPError as e:
            nonce = e.headers.get("DPoP-Nonce")
            if attempt or not nonce:
                raise
    raise SystemExit("no token")


def proofs(key_path, url, access_token, count, out, iat_offset="30") -> None:
    key = load_key(key_path)
    header = make_header(key)
    ath = b64url(hashlib.sha256(access_token.encode()).digest())
    iat = int(time.time()) + int(iat_offset)
    run = time.time_ns()
    with open(out, "w") as f:
        for i in range(int(count)):
            f.write(proof(key, header, "GET", url, iat, f"b{run}-{i}", ath=ath))
            f.write("\n")


if __name__ == "__main__":
    {"token": token, "proofs": proofs}[sys.argv[1]](*sys.argv[2:])
