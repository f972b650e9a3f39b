"""The host key / public key signature algorithm table of ``sshwire._proto.algorithms.hostkey``.

Signing and verification for every algorithm (certificate forms included, with CAs and
certificates made by ``ssh-keygen -s``), malformed key blobs and signatures, the ECDSA
``mpint r, mpint s`` encoding, and fingerprints compared with ``ssh-keygen -l``.

Keys are generated with ``cryptography`` once per module; tests that need OpenSSH skip with a
loud reason when ``ssh-keygen`` is missing, and fail instead when ``SSHWIRE_REQUIRE_OPENSSH=1``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.utils import CryptographyDeprecationWarning
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sshwire._proto.algorithms import hostkey as hk
from sshwire._proto.errors import DecodeError
from sshwire._proto.wire import Reader, mpint, string, uint32, uint64
from sshwire.ssh_exception import SSHException

REQUIRE_ENV = "SSHWIRE_REQUIRE_OPENSSH"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
DATA = b"session identifier and request bytes"


def require_ssh_keygen() -> str:
    if os.path.exists(SSH_KEYGEN) and os.access(SSH_KEYGEN, os.X_OK):
        return SSH_KEYGEN
    reason = f"ssh-keygen not found at {SSH_KEYGEN}; apt-get install openssh-client"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} [{REQUIRE_ENV}=1 is set, so this is a failure]", pytrace=False)
    pytest.skip(f"OPENSSH TEST SKIPPED: {reason} [set {REQUIRE_ENV}=1 to fail instead]")
    raise AssertionError("unreachable")


def run_keygen(*args: str | Path) -> str:
    res = subprocess.run(
        [require_ssh_keygen(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, f"ssh-keygen {args} failed: {res.stderr}"
    return res.stdout


# --------------------------------------------------------------------------------------------
# Keys (one per type, per module)

KEY_NAMES = ("ed25519", "p256", "p384", "p521", "rsa")


@pytest.fixture(scope="module")
def private_keys() -> dict[str, hk.PrivateKey]:
    return {
        "ed25519": hk.PrivateKey(ed25519.Ed25519PrivateKey.generate()),
        "p256": hk.PrivateKey(ec.generate_private_key(ec.SECP256R1())),
        "p384": hk.PrivateKey(ec.generate_private_key(ec.SECP384R1())),
        "p521": hk.PrivateKey(ec.generate_private_key(ec.SECP521R1())),
        "rsa": hk.PrivateKey(rsa.generate_private_key(65537, 2048)),
    }


def _write_private(path: Path, key: hk.PrivateKey) -> None:
    path.write_bytes(
        key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    pub_line = f"{key.plain_public.key_type} {base64.b64encode(key.plain_public.blob).decode()} k\n"
    path.with_name(path.name + ".pub").write_text(pub_line)


@dataclass
class CertMaterial:
    dir: Path
    certs: dict[str, bytes]  # by key name: certificate blob signed by the ed25519 CA
    ca_certs: dict[str, bytes]  # by CA signature algorithm: p256 key certified by that CA


@pytest.fixture(scope="module")
def certs(
    tmp_path_factory: pytest.TempPathFactory, private_keys: dict[str, hk.PrivateKey]
) -> CertMaterial:
    require_ssh_keygen()
    d = tmp_path_factory.mktemp("certs")
    for name, key in private_keys.items():
        _write_private(d / name, key)
    cas = {"ed25519": "ed25519", "ecdsa": "ecdsa", "rsa": "rsa"}
    for ca, t in cas.items():
        extra = ["-b", "2048"] if t == "rsa" else []
        run_keygen("-q", "-t", t, *extra, "-N", "", "-C", f"ca-{ca}", "-f", d / f"ca_{ca}")
    certs: dict[str, bytes] = {}
    for name in KEY_NAMES:
        run_keygen(
            "-q", "-s", d / "ca_ed25519", "-I", f"id-{name}", "-n", "alice,bob", "-z", "42",
            "-O", "force-command=/bin/true", "-O", "source-address=127.0.0.1",
            d / f"{name}.pub",
        )  # fmt: skip
        certs[name] = _read_pub_blob(d / f"{name}-cert.pub")
    ca_certs: dict[str, bytes] = {}
    for ca, sig_alg in (
        ("ed25519", None),
        ("ecdsa", None),
        ("rsa", "rsa-sha2-512"),
        ("rsa", "rsa-sha2-256"),
        ("rsa", "ssh-rsa"),
    ):
        target = d / f"p256_{ca}_{sig_alg}"
        shutil.copyfile(d / "p256.pub", target.with_name(target.name + ".pub"))
        extra = ["-t", sig_alg] if sig_alg else []
        run_keygen("-q", "-s", d / f"ca_{ca}", *extra, "-h", "-I", "host", "-n", "h.example",
               target.with_name(target.name + ".pub"))  # fmt: skip
        blob = _read_pub_blob(target.with_name(target.name + "-cert.pub"))
        ca_certs[sig_alg or ca] = blob
    return CertMaterial(d, certs, ca_certs)


def _read_pub_blob(path: Path) -> bytes:
    return base64.b64decode(path.read_text().split()[1])


# --------------------------------------------------------------------------------------------
# The table


def test_table_covers_every_algorithm() -> None:
    plain = {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-rsa",
    }
    assert set(hk.HOSTKEY_ALGORITHMS) == plain | {n + "-cert-v01@openssh.com" for n in plain}
    for name, spec in hk.HOSTKEY_ALGORITHMS.items():
        assert spec.name == name
        assert spec.certificate == name.endswith("-cert-v01@openssh.com")
        assert spec.key_type.endswith("-cert-v01@openssh.com") == spec.certificate
        assert spec.signature_name == name.removesuffix("-cert-v01@openssh.com")
        assert spec.legacy == name.startswith("ssh-rsa")


@pytest.mark.parametrize(
    ("name", "key_type", "hash_name"),
    [
        ("ssh-ed25519", "ssh-ed25519", None),
        ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", "sha256"),
        ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", "sha384"),
        ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", "sha512"),
        ("rsa-sha2-512", "ssh-rsa", "sha512"),
        ("rsa-sha2-256", "ssh-rsa", "sha256"),
        ("ssh-rsa", "ssh-rsa", "sha1"),
        ("rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "sha256"),
        ("ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com", None),
    ],
)
def test_spec_key_type_and_hash(name: str, key_type: str, hash_name: str | None) -> None:
    spec = hk.HOSTKEY_ALGORITHMS[name]
    assert spec.key_type == key_type
    assert spec.hash_name == hash_name


def test_default_lists() -> None:
    plain = (
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
    )
    expected = tuple(n + "-cert-v01@openssh.com" for n in plain) + plain
    assert expected == hk.DEFAULT_HOSTKEY_ALGORITHMS
    assert expected == hk.DEFAULT_PUBKEY_ALGORITHMS
    for name in hk.DEFAULT_HOSTKEY_ALGORITHMS:
        assert not hk.HOSTKEY_ALGORITHMS[name].legacy
    assert "ssh-rsa" not in hk.DEFAULT_CA_SIGNATURE_ALGORITHMS


def test_algorithms_for_key_type() -> None:
    assert hk.algorithms_for_key_type("ssh-rsa") == ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert hk.algorithms_for_key_type("ssh-rsa-cert-v01@openssh.com") == (
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
    )
    assert hk.algorithms_for_key_type("ssh-ed25519") == ("ssh-ed25519",)
    assert hk.algorithms_for_key_type("ecdsa-sha2-nistp384-cert-v01@openssh.com") == (
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    )
    assert hk.algorithms_for_key_type("ssh-dss") == ()


# --------------------------------------------------------------------------------------------
# Sign / verify, plain keys


def _plain_cases() -> Iterator[tuple[str, str]]:
    for key_name, algs in {
        "ed25519": ("ssh-ed25519",),
        "p256": ("ecdsa-sha2-nistp256",),
        "p384": ("ecdsa-sha2-nistp384",),
        "p521": ("ecdsa-sha2-nistp521",),
        "rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
    }.items():
        for alg in algs:
            yield key_name, alg


@pytest.mark.parametrize(("key_name", "algorithm"), list(_plain_cases()))
def test_sign_verify_plain(
    private_keys: dict[str, hk.PrivateKey], key_name: str, algorithm: str
) -> None:
    key = private_keys[key_name]
    assert algorithm in key.algorithms
    sig = key.sign(algorithm, DATA)
    r = Reader(sig)
    assert r.text() == algorithm
    r.string()
    r.check_end()
    pub = hk.PublicKey.from_blob(key.public.blob)
    assert pub.verify(algorithm, sig, DATA)
    assert not pub.verify(algorithm, sig, DATA + b"x")
    # every other algorithm name is refused, even the other RSA hashes
    for other in hk.HOSTKEY_ALGORITHMS:
        if other != algorithm:
            assert not pub.verify(other, sig, DATA)
    # another key of the same type does not verify it
    assert not pub.verify("no-such-algorithm", sig, DATA)


def test_signature_matches_cryptography(private_keys: dict[str, hk.PrivateKey]) -> None:
    """The raw signature is what the primitive gives (RSA PKCS#1 v1.5, Ed25519)."""
    rsa_key = private_keys["rsa"].key
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    for alg, digest in (("rsa-sha2-512", hashes.SHA512()), ("rsa-sha2-256", hashes.SHA256())):
        r = Reader(private_keys["rsa"].sign(alg, DATA))
        r.text()
        assert r.string() == rsa_key.sign(DATA, padding.PKCS1v15(), digest)
    ed = private_keys["ed25519"].key
    assert isinstance(ed, ed25519.Ed25519PrivateKey)
    r = Reader(private_keys["ed25519"].sign("ssh-ed25519", DATA))
    r.text()
    assert r.string() == ed.sign(DATA)


def test_sign_rejects_foreign_algorithm(private_keys: dict[str, hk.PrivateKey]) -> None:
    with pytest.raises(SSHException):
        private_keys["ed25519"].sign("rsa-sha2-256", DATA)
    with pytest.raises(SSHException):
        private_keys["p256"].sign("ecdsa-sha2-nistp384", DATA)
    with pytest.raises(SSHException):
        private_keys["rsa"].sign("made-up", DATA)


def test_cross_key_verification_fails(private_keys: dict[str, hk.PrivateKey]) -> None:
    other = hk.PrivateKey(ed25519.Ed25519PrivateKey.generate())
    sig = private_keys["ed25519"].sign("ssh-ed25519", DATA)
    assert not other.public.verify("ssh-ed25519", sig, DATA)


@pytest.mark.parametrize("key_name", ["p256", "p384", "p521"])
def test_ecdsa_signature_is_two_mpints(
    private_keys: dict[str, hk.PrivateKey], key_name: str
) -> None:
    key = private_keys[key_name]
    for i in range(16):  # enough to see r or s with the top bit set (a 00 byte prefix)
        data = DATA + bytes([i])
        r = Reader(key.sign(key.algorithms[0], data))
        r.text()
        inner = r.string()
        ir = Reader(inner)
        sig_r = ir.positive_mpint()
        sig_s = ir.positive_mpint()
        ir.check_end()
        assert inner == mpint(sig_r) + mpint(sig_s)  # minimal RFC 4251 encoding
        # the same (r, s) as the DER signature cryptography verifies
        pub = key.plain_public.key
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        assert key.plain_public.verify(key.algorithms[0], key.sign(key.algorithms[0], data), data)
        assert sig_r > 0 and sig_s > 0
    der_r, der_s = decode_dss_signature(
        _ec_key(key).sign(DATA, ec.ECDSA(hk.ECDSA_CURVES[key.public.key_type].hash()))
    )
    assert der_r > 0 and der_s > 0


def _ec_key(key: hk.PrivateKey) -> ec.EllipticCurvePrivateKey:
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    return key.key


def test_rsa_short_signature_is_padded(private_keys: dict[str, hk.PrivateKey]) -> None:
    """A signature with its leading zero byte stripped still verifies (as OpenSSH allows)."""
    key = private_keys["rsa"]
    for i in range(4000):
        data = b"pad search %d" % i
        sig = key.sign("rsa-sha2-256", data)
        r = Reader(sig)
        r.text()
        raw = r.string()
        if raw[0] == 0:
            short = string("rsa-sha2-256") + string(raw[1:])
            assert key.public.verify("rsa-sha2-256", short, data)
            too_long = string("rsa-sha2-256") + string(b"\x00" + raw)
            assert not key.public.verify("rsa-sha2-256", too_long, data)
            return
    pytest.fail("no RSA signature with a leading zero byte in 4000 tries")


def test_small_rsa_keys_never_verify() -> None:
    small = rsa.generate_private_key(65537, 1024)
    n = small.public_key().public_numbers().n
    # A 1024-bit key is the minimum and verifies; a modulus one bit shorter does not.
    key = hk.PrivateKey(small)
    assert key.public.verify("rsa-sha2-256", key.sign("rsa-sha2-256", DATA), DATA)
    blob = string("ssh-rsa") + mpint(65537) + mpint(n >> 1 | 1)
    pub = hk.PublicKey.from_blob(blob)
    assert pub.bits == 1023
    assert not pub.verify("rsa-sha2-256", key.sign("rsa-sha2-256", DATA), DATA)


# --------------------------------------------------------------------------------------------
# Malformed signatures


def _sig(name: str, raw: bytes) -> bytes:
    return string(name) + string(raw)


@pytest.mark.parametrize(("key_name", "algorithm"), list(_plain_cases()))
def test_truncated_or_extended_signatures_are_refused(
    private_keys: dict[str, hk.PrivateKey], key_name: str, algorithm: str
) -> None:
    key = private_keys[key_name]
    sig = key.sign(algorithm, DATA)
    pub = key.public
    for n in range(len(sig)):
        assert not pub.verify(algorithm, sig[:n], DATA)
    assert not pub.verify(algorithm, sig + b"\x00", DATA)
    assert not pub.verify(algorithm, b"", DATA)


def test_ed25519_signature_length(private_keys: dict[str, hk.PrivateKey]) -> None:
    key = private_keys["ed25519"]
    raw = Reader(key.sign("ssh-ed25519", DATA))
    raw.text()
    good = raw.string()
    assert key.public.verify("ssh-ed25519", _sig("ssh-ed25519", good), DATA)
    for bad in (good[:63], good + b"\x00", b"", good * 2):
        assert not key.public.verify("ssh-ed25519", _sig("ssh-ed25519", bad), DATA)


@pytest.mark.parametrize("key_name", ["p256", "p384", "p521"])
def test_malformed_ecdsa_rs(private_keys: dict[str, hk.PrivateKey], key_name: str) -> None:
    key = private_keys[key_name]
    alg = key.algorithms[0]
    r = Reader(key.sign(alg, DATA))
    r.text()
    ir = Reader(r.string())
    sig_r, sig_s = ir.positive_mpint(), ir.positive_mpint()
    pub = key.public
    assert pub.verify(alg, _sig(alg, mpint(sig_r) + mpint(sig_s)), DATA)
    # non-minimal (extra leading zero) encodings are accepted, as OpenSSH accepts them
    padded_r = string(b"\x00" + mpint(sig_r)[4:])
    assert pub.verify(alg, _sig(alg, padded_r + mpint(sig_s)), DATA)
    bad_inners = [
        mpint(sig_r),  # s missing
        mpint(sig_r) + mpint(sig_s) + b"\x00",  # trailing byte
        mpint(sig_r) + mpint(sig_s) + mpint(1),  # a third integer
        mpint(-sig_r) + mpint(sig_s),  # negative r
        mpint(sig_r) + mpint(-sig_s),  # negative s
        mpint(0) + mpint(sig_s),  # zero r
        mpint(sig_r) + mpint(0),  # zero s
        mpint(sig_r << 64) + mpint(sig_s),  # r far too long for the curve
        mpint(sig_s) + mpint(sig_r),  # swapped
        mpint(sig_r)[:-1] + mpint(sig_s),  # truncated r
        string(b"\x80") + mpint(sig_s),  # negative without a sign byte
        b"",
    ]
    for inner in bad_inners:
        assert not pub.verify(alg, _sig(alg, inner), DATA), inner.hex()


def test_rsa_signature_too_long(private_keys: dict[str, hk.PrivateKey]) -> None:
    key = private_keys["rsa"]
    r = Reader(key.sign("rsa-sha2-512", DATA))
    r.text()
    raw = r.string()
    assert not key.public.verify("rsa-sha2-512", _sig("rsa-sha2-512", raw + b"\x00"), DATA)
    assert not key.public.verify("rsa-sha2-512", _sig("rsa-sha2-512", b"\x01" + raw), DATA)


def test_signature_name_must_match_algorithm(private_keys: dict[str, hk.PrivateKey]) -> None:
    key = private_keys["rsa"]
    r = Reader(key.sign("rsa-sha2-512", DATA))
    r.text()
    raw = r.string()
    # the same bytes labelled as another hash must not verify under either name
    assert not key.public.verify("rsa-sha2-256", _sig("rsa-sha2-512", raw), DATA)
    assert not key.public.verify("rsa-sha2-512", _sig("rsa-sha2-256", raw), DATA)
    assert not key.public.verify("rsa-sha2-512", _sig("ssh-rsa", raw), DATA)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage=st.binary(max_size=300), alg_index=st.integers(0, 13))
def test_garbage_signatures_return_false(
    private_keys: dict[str, hk.PrivateKey], garbage: bytes, alg_index: int
) -> None:
    algorithm = sorted(hk.HOSTKEY_ALGORITHMS)[alg_index]
    for key in private_keys.values():
        assert key.public.verify(algorithm, garbage, DATA) is False
        named = string(hk.HOSTKEY_ALGORITHMS[algorithm].signature_name) + string(garbage)
        assert key.public.verify(algorithm, named, DATA) is False


# --------------------------------------------------------------------------------------------
# Public key blobs


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_blob_round_trip(private_keys: dict[str, hk.PrivateKey], key_name: str) -> None:
    key = private_keys[key_name]
    blob = key.public.blob
    pub = hk.PublicKey.from_blob(blob)
    assert pub.blob == blob == hk.encode_public_key(key.key.public_key())
    assert pub == key.public and hash(pub) == hash(key.public)
    assert pub.cert is None and pub.plain() is pub
    assert (
        pub.bits == {"ed25519": 256, "p256": 256, "p384": 384, "p521": 521, "rsa": 2048}[key_name]
    )
    # the same key from ssh form (cryptography's own encoder)
    openssh = key.key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert base64.b64decode(openssh.split()[1]) == blob
    # parse_prefix leaves trailing bytes alone; from_blob refuses them
    parsed, used = hk.PublicKey.parse_prefix(blob + b"tail")
    assert used == len(blob) and parsed == pub
    with pytest.raises(DecodeError):
        hk.PublicKey.from_blob(blob + b"\x00")


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_every_truncation_raises_decode_error(
    private_keys: dict[str, hk.PrivateKey], key_name: str
) -> None:
    blob = private_keys[key_name].public.blob
    for n in range(len(blob)):
        with pytest.raises(DecodeError):
            hk.PublicKey.from_blob(blob[:n])


def _ec_point(key: hk.PrivateKey) -> bytes:
    pub = key.key.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    return pub.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_malformed_blobs(private_keys: dict[str, hk.PrivateKey]) -> None:
    point = _ec_point(private_keys["p256"])
    bad = [
        string("ssh-dss") + mpint(1) + mpint(2) + mpint(3) + mpint(4),  # unsupported type
        string("ssh-ed25519") + string(b"\x01" * 31),  # short ed25519 key
        string("ssh-ed25519") + string(b"\x01" * 33),  # long ed25519 key
        string("ecdsa-sha2-nistp256") + string("nistp384") + string(point),  # curve mismatch
        string("ecdsa-sha2-nistp256") + string("nistp256") + string(b"\x04" + b"\x01" * 64),
        string("ecdsa-sha2-nistp256") + string("nistp256") + string(b"\x00"),  # infinity
        string("ecdsa-sha2-nistp256") + string("nistp256") + string(point[:-1]),
        string("ssh-rsa") + mpint(-65537) + mpint(1 << 2047 | 1),  # negative exponent
        string("ssh-rsa") + mpint(2) + mpint(1 << 2047 | 1),  # even exponent
        string("ssh-rsa") + mpint(65537) + mpint(-(1 << 2047)),  # negative modulus
        string("ssh-rsa") + mpint(65537) + mpint(1 << 17000 | 1),  # absurdly large modulus
        string(b"\xff\xfe"),  # not UTF-8
        b"\xff\xff\xff\xff",  # huge length
        b"",
    ]
    for blob in bad:
        with pytest.raises(DecodeError):
            hk.PublicKey.from_blob(blob)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_garbage_blobs_raise_only_decode_error(data: bytes) -> None:
    try:
        hk.PublicKey.from_blob(data)
    except DecodeError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    key_type=st.sampled_from(sorted(hk.KEY_TYPES)),
    body=st.binary(max_size=200),
)
def test_garbage_after_known_type_raises_only_decode_error(key_type: str, body: bytes) -> None:
    try:
        hk.PublicKey.from_blob(string(key_type) + body)
    except DecodeError:
        pass


def test_private_key_refuses_other_types() -> None:
    from cryptography.hazmat.primitives.asymmetric import dsa, ed448

    with pytest.raises(SSHException):
        hk.PrivateKey(ed448.Ed448PrivateKey.generate())  # type: ignore[arg-type]
    with pytest.raises(SSHException):
        hk.PrivateKey(ec.generate_private_key(ec.SECP224R1()))
    with warnings.catch_warnings():  # cryptography 51 deprecates DSA; still refused here
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        dsa_key = dsa.generate_private_key(1024)
    with pytest.raises(SSHException):
        hk.PublicKey.from_key(dsa_key.public_key())  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Fingerprints against ssh-keygen -l


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_fingerprints_match_ssh_keygen(
    certs: CertMaterial, private_keys: dict[str, hk.PrivateKey], key_name: str
) -> None:
    pub = private_keys[key_name].public
    pub_path = certs.dir / f"{key_name}.pub"
    sha = run_keygen("-l", "-E", "sha256", "-f", pub_path).split()[1]
    md5 = run_keygen("-l", "-E", "md5", "-f", pub_path).split()[1]
    assert pub.fingerprint_sha256() == sha
    assert "MD5:" + ":".join(f"{b:02x}" for b in pub.fingerprint_md5()) == md5
    assert pub.fingerprint_md5() == hashlib.md5(pub.blob).digest()
    # a certificate has the fingerprint of its key, in ssh-keygen as here
    cert = hk.PublicKey.from_blob(certs.certs[key_name])
    cert_sha = run_keygen("-l", "-E", "sha256", "-f", certs.dir / f"{key_name}-cert.pub").split()[1]
    assert cert.fingerprint_sha256() == cert_sha == sha


# --------------------------------------------------------------------------------------------
# Certificates


def _ssh_keygen_L(path: Path) -> str:
    return run_keygen("-L", "-f", path)


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_certificate_fields(
    certs: CertMaterial, private_keys: dict[str, hk.PrivateKey], key_name: str
) -> None:
    blob = certs.certs[key_name]
    pub = hk.PublicKey.from_blob(blob)
    key = private_keys[key_name]
    assert pub.key_type == key.plain_public.key_type + "-cert-v01@openssh.com"
    assert pub.blob == blob
    assert pub.plain_blob == key.plain_public.blob
    assert pub.plain() == key.plain_public
    assert pub.bits == key.plain_public.bits
    cert = pub.cert
    assert cert is not None
    assert cert.serial == 42
    assert cert.cert_type == hk.CERT_TYPE_USER and cert.type_name == "user" and not cert.is_host
    assert cert.key_id == f"id-{key_name}"
    assert cert.principals == ("alice", "bob")
    assert cert.valid_after == 0 and cert.valid_before == 2**64 - 1
    assert cert.valid_at(1_700_000_000)
    assert dict(cert.critical_options) == {
        "force-command": b"/bin/true",
        "source-address": b"127.0.0.1",
    }
    assert set(cert.extensions) == {
        "permit-X11-forwarding",
        "permit-agent-forwarding",
        "permit-port-forwarding",
        "permit-pty",
        "permit-user-rc",
    }
    assert cert.signature_algorithm == "ssh-ed25519"
    assert cert.ca.key_type == "ssh-ed25519"
    assert cert.signed_data + string(cert.signature) == blob
    listing = _ssh_keygen_L(certs.dir / f"{key_name}-cert.pub")
    assert f'Key ID: "id-{key_name}"' in listing
    assert cert.ca.fingerprint_sha256() in listing
    assert cert.cert_signature_valid()


@pytest.mark.parametrize("ca_alg", ["ed25519", "ecdsa", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"])
def test_certificate_signature_per_ca_algorithm(certs: CertMaterial, ca_alg: str) -> None:
    pub = hk.PublicKey.from_blob(certs.ca_certs[ca_alg])
    cert = pub.cert
    assert cert is not None and cert.is_host and cert.principals == ("h.example",)
    expected_alg = {"ed25519": "ssh-ed25519", "ecdsa": "ecdsa-sha2-nistp256"}.get(ca_alg, ca_alg)
    assert cert.signature_algorithm == expected_alg
    if ca_alg == "ssh-rsa":
        # SHA-1 CA signatures are refused by default, as OpenSSH's CASignatureAlgorithms
        assert not cert.cert_signature_valid()
        assert cert.cert_signature_valid(hk.HOSTKEY_ALGORITHMS)
    else:
        assert cert.cert_signature_valid()
    assert not cert.cert_signature_valid(allowed_algorithms=())


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_tampered_certificate_signature_is_invalid(certs: CertMaterial, key_name: str) -> None:
    blob = certs.certs[key_name]
    cert = hk.PublicKey.from_blob(blob).cert
    assert cert is not None
    # change the serial (the uint64 right after the key fields): still parses, signature fails
    pub = hk.PublicKey.from_blob(blob)
    fields_len = len(pub.plain_blob) - len(string(pub.plain_key_type))
    offset = len(string(pub.key_type)) + len(string(cert.nonce)) + fields_len
    assert int.from_bytes(blob[offset : offset + 8], "big") == 42
    tampered = blob[:offset] + uint64(43) + blob[offset + 8 :]
    bad = hk.PublicKey.from_blob(tampered).cert
    assert bad is not None and bad.serial == 43
    assert not bad.cert_signature_valid()


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_sign_verify_certificate_forms(
    certs: CertMaterial, private_keys: dict[str, hk.PrivateKey], key_name: str
) -> None:
    key = private_keys[key_name].with_certificate(certs.certs[key_name])
    assert key.public.cert is not None
    assert key.key_type.endswith("-cert-v01@openssh.com")
    assert key.algorithms == hk.algorithms_for_key_type(key.key_type)
    cert_pub = hk.PublicKey.from_blob(certs.certs[key_name])
    for algorithm in key.algorithms:
        spec = hk.HOSTKEY_ALGORITHMS[algorithm]
        assert spec.certificate
        sig = key.sign(algorithm, DATA)
        assert Reader(sig).text() == spec.signature_name  # the plain name inside
        assert cert_pub.verify(algorithm, sig, DATA)
        assert not cert_pub.verify(algorithm, sig, DATA[:-1])
        # the plain algorithm does not go with a certificate blob, nor vice versa
        assert not cert_pub.verify(spec.signature_name, sig, DATA)
        assert not key.plain_public.verify(algorithm, sig, DATA)
        assert key.plain_public.verify(spec.signature_name, sig, DATA)


def test_certificate_must_certify_the_key(
    certs: CertMaterial, private_keys: dict[str, hk.PrivateKey]
) -> None:
    with pytest.raises(SSHException):
        private_keys["p256"].with_certificate(certs.certs["p384"])
    with pytest.raises(SSHException):
        private_keys["p256"].with_certificate(private_keys["p256"].public.blob)  # not a cert
    assert private_keys["p256"].with_certificate(None).public.cert is None


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_certificate_truncations_raise_decode_error(certs: CertMaterial, key_name: str) -> None:
    blob = certs.certs[key_name]
    for n in range(0, len(blob), 3):
        with pytest.raises(DecodeError):
            hk.PublicKey.from_blob(blob[:n])


def _rebuild_cert(
    private_keys: dict[str, hk.PrivateKey],
    *,
    cert_type: int = hk.CERT_TYPE_USER,
    options: bytes = b"",
    signature_key: bytes | None = None,
) -> bytes:
    """A certificate for the p256 key signed by the ed25519 key (built by hand)."""
    key = private_keys["p256"].plain_public
    ca = private_keys["ed25519"]
    r = Reader(key.blob)
    r.text()
    fields = key.blob[r.position :]
    body = (
        string("ecdsa-sha2-nistp256-cert-v01@openssh.com")
        + string(b"n" * 32)
        + fields
        + uint64(7)
        + uint32(cert_type)
        + string("kid")
        + string(string("alice"))
        + uint64(0)
        + uint64(2**64 - 1)
        + string(options)
        + string(b"")
        + string(b"")
        + string(ca.public.blob if signature_key is None else signature_key)
    )
    return body + string(ca.sign("ssh-ed25519", body))


def test_hand_built_certificate(private_keys: dict[str, hk.PrivateKey]) -> None:
    good = hk.PublicKey.from_blob(_rebuild_cert(private_keys))
    assert good.cert is not None and good.cert.cert_signature_valid()
    with pytest.raises(DecodeError):  # unknown certificate type
        hk.PublicKey.from_blob(_rebuild_cert(private_keys, cert_type=3))
    dup = string("force-command") + string(string("a"))
    with pytest.raises(DecodeError):  # duplicate critical option
        hk.PublicKey.from_blob(_rebuild_cert(private_keys, options=dup + dup))
    with pytest.raises(DecodeError):  # option value that is not one string
        hk.PublicKey.from_blob(_rebuild_cert(private_keys, options=string("x") + string(b"abc")))
    with pytest.raises(DecodeError):  # CA key that is itself a certificate
        hk.PublicKey.from_blob(_rebuild_cert(private_keys, signature_key=good.blob))
    with pytest.raises(DecodeError):  # garbage CA key
        hk.PublicKey.from_blob(_rebuild_cert(private_keys, signature_key=b"junk"))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(0, 255))
def test_mutated_certificates_never_crash(
    private_keys: dict[str, hk.PrivateKey], position: int, value: int
) -> None:
    blob = bytearray(_rebuild_cert(private_keys))
    blob[position % len(blob)] = value
    try:
        pub = hk.PublicKey.from_blob(bytes(blob))
    except DecodeError:
        return
    assert pub.cert is not None
    assert isinstance(pub.cert.cert_signature_valid(), bool)
