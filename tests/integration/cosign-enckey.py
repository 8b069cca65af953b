#!/usr/bin/env python3
"""cosign's password-encrypted private key format, written without our C code,
so client-sign.bats can check ours against an independent implementation:
hashlib's scrypt, libsodium's secretbox through ctypes, the format as
go-securesystemslib's "encrypted" package (which cosign uses) defines it:

  PEM "ENCRYPTED SIGSTORE PRIVATE KEY" around
  {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
   "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
  key = scrypt(password, salt, N, r, p, 32); ciphertext = secretbox(PKCS#8 DER)

usage: cosign-enckey.py seal DER_FILE [PEM_TYPE] > KEY    (password: $COSIGN_PASSWORD)
       cosign-enckey.py open KEY_FILE > DER             (exit 1 if it does not open)
"""
import base64
import ctypes
import hashlib
import json
import os
import sys

sodium = ctypes.CDLL("libsodium.so.23")
if sodium.sodium_init() < 0:
    sys.exit("libsodium failed to initialise")
MACBYTES = 16
NONCEBYTES = 24


def derive(password, salt, n, r, p):
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=512 * 1024 * 1024, dklen=32)


def seal(der, password, pem_type):
    salt, nonce = os.urandom(32), os.urandom(NONCEBYTES)
    key = derive(password, salt, 32768, 8, 1)
    out = ctypes.create_string_buffer(len(der) + MACBYTES)
    if sodium.crypto_secretbox_easy(out, der, ctypes.c_ulonglong(len(der)), nonce, key) != 0:
        sys.exit("crypto_secretbox_easy failed")
    body = json.dumps(
        {
            "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": base64.b64encode(salt).decode()},
            "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
            "ciphertext": base64.b64encode(out.raw).decode(),
        },
        separators=(",", ":"),
    ).encode()
    b64 = base64.b64encode(body).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (pem_type, "\n".join(lines), pem_type)


def open_key(text, password):
    lines = text.strip().splitlines()
    if not lines[0].startswith("-----BEGIN ENCRYPTED ") or not lines[-1].startswith("-----END "):
        sys.exit("not an encrypted cosign key")
    d = json.loads(base64.b64decode("".join(lines[1:-1])))
    if d["kdf"]["name"] != "scrypt" or d["cipher"]["name"] != "nacl/secretbox":
        sys.exit("unexpected kdf or cipher")
    prm = d["kdf"]["params"]
    key = derive(password, base64.b64decode(d["kdf"]["salt"]), prm["N"], prm["r"], prm["p"])
    nonce = base64.b64decode(d["cipher"]["nonce"])
    ct = base64.b64decode(d["ciphertext"])
    if len(nonce) != NONCEBYTES or len(ct) < MACBYTES:
        sys.exit("bad nonce or ciphertext size")
    out = ctypes.create_string_buffer(len(ct) - MACBYTES)
    if sodium.crypto_secretbox_open_easy(out, ct, ctypes.c_ulonglong(len(ct)), nonce, key) != 0:
        sys.exit("the box does not open (wrong password?)")
    return out.raw


def main():
    password = os.environ.get("COSIGN_PASSWORD")
    if password is None:
        sys.exit("COSIGN_PASSWORD is not set")
    if len(sys.argv) >= 3 and sys.argv[1] == "seal":
        with open(sys.argv[2], "rb") as f:
            der = f.read()
        pem_type = sys.argv[3] if len(sys.argv) > 3 else "ENCRYPTED SIGSTORE PRIVATE KEY"
        sys.stdout.write(seal(der, password.encode(), pem_type))
    elif len(sys.argv) == 3 and sys.argv[1] == "open":
        with open(sys.argv[2]) as f:
            sys.stdout.buffer.write(open_key(f.read(), password.encode()))
    else:
        sys.exit(__doc__)


main()
