"""Host key and public key signature algorithms, over ``cryptography``.

What lives here: the table of signature algorithm names the protocol negotiates (host keys in
KEXINIT, RFC 4253 §7.1; public key authentication, RFC 4252 §7; ``server-sig-algs``, RFC 8308),
the SSH wire form of public keys and OpenSSH certificates, and signing and verification in the
RFC 4253 §6.6 signature encoding. The public ``PKey`` classes are a thin face over this module;
the core uses it directly and never imports them.

Key types and the algorithms that sign with them:

* ``ssh-ed25519`` (RFC 8709): one algorithm of the same name.
* ``ecdsa-sha2-nistp256/384/521`` (RFC 5656 §3): one algorithm each, hash fixed by the curve.
* ``ssh-rsa`` (RFC 4253 §6.6, RFC 8332): ``rsa-sha2-512``, ``rsa-sha2-256`` and the legacy
  SHA-1 ``ssh-rsa``, which is available on request only and never in a default list.
* each of the above as an OpenSSH certificate (``PROTOCOL.certkeys``): the key type gets the
  ``-cert-v01@openssh.com`` suffix and so does each algorithm name (``rsa-sha2-512`` becomes
  ``rsa-sha2-512-cert-v01@openssh.com``); signatures made with a certified key still carry the
  plain algorithm name.

Malformed input (key blobs, certificates, signatures) never escapes as ``IndexError`` or
``ValueError``: parsing raises :class:`~sshwire._proto.errors.DecodeError`, and verification
returns ``False``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ...ssh_exception import SSHException
from ..errors import DecodeError
from ..wire import Reader, mpint, string

__all__ = [
    "CERT_SUFFIX",
    "CERT_TYPE_HOST",
    "CERT_TYPE_USER",
    "DEFAULT_CA_SIGNATURE_ALGORITHMS",
    "DEFAULT_HOSTKEY_ALGORITHMS",
    "DEFAULT_PUBKEY_ALGORITHMS",
    "ECDSA_CURVES",
    "HOSTKEY_ALGORITHMS",
    "KEY_TYPES",
    "RSA_MIN_BITS",
    "CertInfo",
    "EcdsaCurve",
    "HostKeyAlgorithm",
    "PrivateKey",
    "PublicKey",
    "algorithms_for_key_type",
    "encode_public_key",
    "signature_algorithm",
]

CERT_SUFFIX: Final = "-cert-v01@openssh.com"
CERT_TYPE_USER: Final = 1  # PROTOCOL.certkeys: SSH2_CERT_TYPE_USER
CERT_TYPE_HOST: Final = 2  # PROTOCOL.certkeys: SSH2_CERT_TYPE_HOST

#: Smallest RSA modulus accepted for verification, as OpenSSH (SSH_RSA_MINIMUM_MODULUS_SIZE).
RSA_MIN_BITS: Final = 1024
#: Largest modulus parsed at all (OpenSSH's SSHBUF_MAX_BIGNUM is 16384 bits).
_RSA_MAX_BITS: Final = 16384

Family: TypeAlias = Literal["rsa", "ecdsa", "ed25519"]
PublicKeyObject: TypeAlias = (
    "rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey"
)
PrivateKeyObject: TypeAlias = (
    "rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey"
)

_ED25519_KEY_SIZE: Final = 32
_ED25519_SIG_SIZE: Final = 64


# --------------------------------------------------------------------------------------------
# The tables


@dataclass(frozen=True)
class EcdsaCurve:
    """One NIST curve of RFC 5656: its SSH names, ``cryptography`` class and fixed hash."""

    key_type: str  # "ecdsa-sha2-nistp256"
    ssh_name: str  # "nistp256", the curve identifier inside the blob
    curve: type[ec.EllipticCurve]
    hash: type[hashes.HashAlgorithm]  # RFC 5656 §6.2.1: chosen by the curve size
    bits: int


ECDSA_CURVES: Final[dict[str, EcdsaCurve]] = {
    c.key_type: c
    for c in (
        EcdsaCurve("ecdsa-sha2-nistp256", "nistp256", ec.SECP256R1, hashes.SHA256, 256),
        EcdsaCurve("ecdsa-sha2-nistp384", "nistp384", ec.SECP384R1, hashes.SHA384, 384),
        EcdsaCurve("ecdsa-sha2-nistp521", "nistp521", ec.SECP521R1, hashes.SHA512, 521),
    )
}
_CURVE_BY_NAME: Final[dict[str, EcdsaCurve]] = {c.curve().name: c for c in ECDSA_CURVES.values()}


@dataclass(frozen=True)
class HostKeyAlgorithm:
    """A host key / public key signature algorithm.

    ``key_type`` is the type string that starts the key blob this algorithm is used with
    (``rsa-sha2-256`` -> ``ssh-rsa``; ``rsa-sha2-256-cert-v01@openssh.com`` ->
    ``ssh-rsa-cert-v01@openssh.com``), ``signature_name`` the name written inside signatures
    (always the plain form), ``hash`` the digest signed over (``None`` for Ed25519, which
    hashes internally).
    """

    name: str
    key_type: str
    plain_key_type: str
    signature_name: str
    family: Family
    hash: type[hashes.HashAlgorithm] | None
    certificate: bool = False
    legacy: bool = False

    @property
    def hash_name(self) -> str | None:
        """The digest's name (``"sha256"``), or ``None`` for Ed25519."""
        return None if self.hash is None else self.hash().name


def _build_table() -> dict[str, HostKeyAlgorithm]:
    plain: list[HostKeyAlgorithm] = [
        HostKeyAlgorithm(
            "ssh-ed25519", "ssh-ed25519", "ssh-ed25519", "ssh-ed25519", "ed25519", None
        )
    ]
    for c in ECDSA_CURVES.values():
        plain.append(
            HostKeyAlgorithm(c.key_type, c.key_type, c.key_type, c.key_type, "ecdsa", c.hash)
        )
    for name, digest, legacy in (
        ("rsa-sha2-512", hashes.SHA512, False),
        ("rsa-sha2-256", hashes.SHA256, False),
        ("ssh-rsa", hashes.SHA1, True),  # RFC 4253 §6.6: SHA-1, on request only
    ):
        plain.append(
            HostKeyAlgorithm(name, "ssh-rsa", "ssh-rsa", name, "rsa", digest, False, legacy)
        )
    table = {a.name: a for a in plain}
    for a in plain:
        cert = HostKeyAlgorithm(
            name=a.name + CERT_SUFFIX,
            key_type=a.plain_key_type + CERT_SUFFIX,
            plain_key_type=a.plain_key_type,
            signature_name=a.signature_name,
            family=a.family,
            hash=a.hash,
            certificate=True,
            legacy=a.legacy,
        )
        table[cert.name] = cert
    return table


#: Every signature algorithm we implement, by name.
HOSTKEY_ALGORITHMS: Final[dict[str, HostKeyAlgorithm]] = _build_table()

_PLAIN_PREFERENCE: Final = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)

#: Host key algorithms offered by default, best first (certificates before plain keys).
DEFAULT_HOSTKEY_ALGORITHMS: Final[tuple[str, ...]] = (
    *(n + CERT_SUFFIX for n in _PLAIN_PREFERENCE),
    *_PLAIN_PREFERENCE,
)
#: Public key authentication algorithms accepted/offered by default, best first.
DEFAULT_PUBKEY_ALGORITHMS: Final[tuple[str, ...]] = DEFAULT_HOSTKEY_ALGORITHMS
#: Algorithms a certificate authority may have signed a certificate with, by default
#: (OpenSSH's ``CASignatureAlgorithms`` default: no SHA-1).
DEFAULT_CA_SIGNATURE_ALGORITHMS: Final[tuple[str, ...]] = _PLAIN_PREFERENCE

#: Every key blob type we can parse (plain and certificate).
KEY_TYPES: Final[frozenset[str]] = frozenset(a.key_type for a in HOSTKEY_ALGORITHMS.values())

# Preference order of every algorithm, legacy last, for algorithms_for_key_type().
_ALL_ORDER: Final[tuple[str, ...]] = (
    *DEFAULT_HOSTKEY_ALGORITHMS,
    "ssh-rsa" + CERT_SUFFIX,
    "ssh-rsa",
)


def algorithms_for_key_type(key_type: str) -> tuple[str, ...]:
    """Every algorithm that signs with a key blob of *key_type*, best first, legacy last.

    ``"ssh-rsa"`` gives ``("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")``; an unknown type
    gives ``()``.
    """
    return tuple(n for n in _ALL_ORDER if HOSTKEY_ALGORITHMS[n].key_type == key_type)


def signature_algorithm(signature_blob: bytes) -> str:
    """The algorithm name at the start of an RFC 4253 §6.6 signature blob."""
    return Reader(signature_blob).text()


# --------------------------------------------------------------------------------------------
# Public keys


def _ec_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _key_fields(key: PublicKeyObject) -> tuple[str, bytes]:
    """The plain key type and the wire fields that follow the type string."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return "ssh-rsa", mpint(numbers.e) + mpint(numbers.n)  # RFC 4253 §6.6
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVE_BY_NAME.get(key.curve.name)
        if curve is None:
            raise SSHException(f"unsupported elliptic curve: {key.curve.name}")
        return curve.key_type, string(curve.ssh_name) + string(_ec_point(key))  # RFC 5656 §3.1
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ssh-ed25519", string(raw)  # RFC 8709 §4
    raise SSHException(f"unsupported public key type: {type(key).__name__}")


def encode_public_key(key: PublicKeyObject) -> bytes:
    """The SSH wire blob of a ``cryptography`` public key."""
    key_type, fields = _key_fields(key)
    return string(key_type) + fields


def _read_key_fields(r: Reader, plain_type: str) -> tuple[PublicKeyObject, int]:
    """Read the fields of a *plain_type* key from *r*; return the key and its size in bits."""
    if plain_type == "ssh-rsa":
        e = r.positive_mpint()
        n = r.positive_mpint()
        bits = n.bit_length()
        if bits > _RSA_MAX_BITS or e.bit_length() > _RSA_MAX_BITS:
            raise DecodeError(f"RSA key too large: {bits} bits")
        try:
            return rsa.RSAPublicNumbers(e, n).public_key(), bits
        except ValueError as exc:
            raise DecodeError(f"invalid RSA public key: {exc}") from None
    if plain_type == "ssh-ed25519":
        raw = r.string()
        if len(raw) != _ED25519_KEY_SIZE:
            raise DecodeError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw), 256
        except ValueError as exc:  # pragma: no cover - any 32 bytes are accepted today
            raise DecodeError(f"invalid Ed25519 public key: {exc}") from None
    curve = ECDSA_CURVES.get(plain_type)
    if curve is None:
        raise DecodeError(f"unknown public key type {plain_type!r}")
    name = r.text()
    if name != curve.ssh_name:
        raise DecodeError(f"curve {name!r} does not match key type {plain_type}")
    point = r.string()
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve.curve(), point), curve.bits
    except ValueError as exc:
        raise DecodeError(f"invalid {curve.ssh_name} public point: {exc}") from None


def _options(data: bytes, what: str) -> dict[str, bytes]:
    """Decode certificate critical options or extensions (PROTOCOL.certkeys).

    Each entry is ``string name, string data``; *data* is empty for a flag, or holds one
    string with the value, which is what the mapping gives back.
    """
    r = Reader(data)
    out: dict[str, bytes] = {}
    while r.remaining:
        name = r.text()
        if name in out:
            raise DecodeError(f"duplicate certificate {what} {name!r}")
        inner = r.string()
        if inner:
            ir = Reader(inner)
            value = ir.string()
            ir.check_end()
        else:
            value = b""
        out[name] = value
    return out


@dataclass(frozen=True, eq=False)
class CertInfo:
    """The fields of an OpenSSH certificate (``PROTOCOL.certkeys``) beyond the key itself."""

    nonce: bytes
    serial: int
    cert_type: int  # CERT_TYPE_USER or CERT_TYPE_HOST
    key_id: str
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: Mapping[str, bytes]
    extensions: Mapping[str, bytes]
    reserved: bytes
    signature_key: bytes  # the CA's public key blob
    signature: bytes  # the CA's RFC 4253 §6.6 signature blob
    signed_data: bytes  # everything the CA signed: the certificate up to the signature
    blob: bytes  # the whole certificate

    @property
    def type_name(self) -> str:
        """``"user"`` or ``"host"``."""
        return "host" if self.cert_type == CERT_TYPE_HOST else "user"

    @property
    def is_host(self) -> bool:
        """Whether this is a host certificate (else a user certificate)."""
        return self.cert_type == CERT_TYPE_HOST

    @property
    def signature_algorithm(self) -> str:
        """The algorithm the CA signed with (from the signature blob)."""
        return signature_algorithm(self.signature)

    @property
    def ca(self) -> PublicKey:
        """The certificate authority's public key."""
        return PublicKey.from_blob(self.signature_key)

    def valid_at(self, timestamp: int) -> bool:
        """Whether *timestamp* (seconds since the epoch) is in the validity interval."""
        return self.valid_after <= timestamp < self.valid_before

    def cert_signature_valid(self, allowed_algorithms: Iterable[str] | None = None) -> bool:
        """Whether the CA's signature over this certificate is good.

        *allowed_algorithms* are the signature algorithms accepted from the CA (default:
        :data:`DEFAULT_CA_SIGNATURE_ALGORITHMS`, which excludes SHA-1 ``ssh-rsa``). Only the
        signature is checked: validity dates, principals and whether the CA is trusted are the
        caller's business.
        """
        allowed = (
            DEFAULT_CA_SIGNATURE_ALGORITHMS if allowed_algorithms is None else allowed_algorithms
        )
        try:
            alg = self.signature_algorithm
            if alg not in set(allowed):
                return False
            ca = self.ca
            if ca.cert is not None or alg not in algorithms_for_key_type(ca.key_type):
                return False
            # Our own strict check of the signature blob, then cryptography's certificate
            # verification (an independent parser) must agree.
            if not ca.verify(alg, self.signature, self.signed_data):
                return False
            cert_type = self.blob[4 : 4 + int.from_bytes(self.blob[:4], "big")]
            text = cert_type + b" " + base64.b64encode(self.blob)
            parsed = serialization.load_ssh_public_identity(text)
            if not isinstance(parsed, serialization.SSHCertificate):
                return False
            parsed.verify_cert_signature()
        except (SSHException, ValueError, TypeError, UnsupportedAlgorithm, InvalidSignature):
            return False
        return True


class PublicKey:
    """A public key or OpenSSH certificate in SSH wire form, able to verify signatures.

    Build one with :meth:`from_blob` (a wire blob) or :meth:`from_key` (a ``cryptography``
    public key). ``key`` is the ``cryptography`` key object; for a certificate it is the
    certified key, and ``cert`` holds the certificate fields (``None`` for a plain key).
    """

    __slots__ = ("bits", "blob", "cert", "curve", "family", "key", "key_type", "plain_blob")

    key_type: str
    blob: bytes
    plain_blob: bytes
    key: PublicKeyObject
    bits: int
    cert: CertInfo | None
    family: Family
    curve: EcdsaCurve | None

    def __init__(
        self,
        key_type: str,
        blob: bytes,
        plain_blob: bytes,
        key: PublicKeyObject,
        bits: int,
        cert: CertInfo | None,
    ) -> None:
        self.key_type = key_type
        self.blob = blob
        self.plain_blob = plain_blob
        self.key = key
        self.bits = bits
        self.cert = cert
        plain = key_type.removesuffix(CERT_SUFFIX)
        self.curve = ECDSA_CURVES.get(plain)
        self.family = (
            "rsa" if plain == "ssh-rsa" else "ed25519" if plain == "ssh-ed25519" else "ecdsa"
        )

    # ---- construction

    @classmethod
    def from_blob(cls, blob: bytes | bytearray | memoryview) -> PublicKey:
        """Parse a public key or certificate blob; anything malformed raises DecodeError."""
        data = bytes(blob)
        key, used = cls.parse_prefix(data)
        if used != len(data):
            raise DecodeError(f"{len(data) - used} unexpected trailing bytes after the key")
        return key

    @classmethod
    def parse_prefix(cls, data: bytes | bytearray | memoryview) -> tuple[PublicKey, int]:
        """Parse the key or certificate at the start of *data*; return it and its length.

        Bytes after the key are left alone (unlike :meth:`from_blob`, which rejects them).
        """
        data = bytes(data)
        r = Reader(data)
        key_type = r.text()
        if key_type.endswith(CERT_SUFFIX):
            key = cls._read_cert(data, r, key_type)
        else:
            key_obj, bits = _read_key_fields(r, key_type)
            raw = data[: r.position]
            key = cls(key_type, raw, raw, key_obj, bits, None)
        return key, r.position

    @classmethod
    def _read_cert(cls, data: bytes, r: Reader, key_type: str) -> PublicKey:
        # PROTOCOL.certkeys: string type, string nonce, key fields, uint64 serial, uint32 type,
        # string key id, string principals, uint64 valid after, uint64 valid before,
        # string critical options, string extensions, string reserved, string signature key,
        # string signature.
        plain_type = key_type.removesuffix(CERT_SUFFIX)
        nonce = r.string()
        fields_at = r.position
        key, bits = _read_key_fields(r, plain_type)
        plain_blob = string(plain_type) + data[fields_at : r.position]
        serial = r.uint64()
        cert_type = r.uint32()
        if cert_type not in (CERT_TYPE_USER, CERT_TYPE_HOST):
            raise DecodeError(f"unknown certificate type {cert_type}")
        key_id = r.text()
        pr = Reader(r.string())
        principals: list[str] = []
        while pr.remaining:
            principals.append(pr.text())
        valid_after = r.uint64()
        valid_before = r.uint64()
        critical = _options(r.string(), "critical option")
        extensions = _options(r.string(), "extension")
        reserved = r.string()
        signature_key = r.string()
        # a CA key is never a certificate: refuse before parsing it, or nested certificates
        # would recurse once per level (hundreds fit in one packet: RecursionError)
        if Reader(signature_key).text().endswith(CERT_SUFFIX):
            raise DecodeError("certificate signed by a certificate, not by a plain CA key")
        PublicKey.from_blob(signature_key)  # the CA key must parse
        signed_end = r.position
        signature = r.string()
        blob = data[: r.position]
        info = CertInfo(
            nonce=nonce,
            serial=serial,
            cert_type=cert_type,
            key_id=key_id,
            principals=tuple(principals),
            valid_after=valid_after,
            valid_before=valid_before,
            critical_options=critical,
            extensions=extensions,
            reserved=reserved,
            signature_key=signature_key,
            signature=signature,
            signed_data=blob[:signed_end],
            blob=blob,
        )
        return cls(key_type, blob, plain_blob, key, bits, info)

    @classmethod
    def from_key(cls, key: PublicKeyObject) -> PublicKey:
        """Wrap a ``cryptography`` public key (RSA, NIST P-256/384/521 ECDSA or Ed25519)."""
        key_type, fields = _key_fields(key)
        blob = string(key_type) + fields
        if isinstance(key, rsa.RSAPublicKey):
            bits = key.key_size
        elif isinstance(key, ec.EllipticCurvePublicKey):
            bits = ECDSA_CURVES[key_type].bits
        else:
            bits = 256
        return cls(key_type, blob, blob, key, bits, None)

    # ---- description

    @property
    def plain_key_type(self) -> str:
        """The key type without any certificate suffix."""
        return self.key_type.removesuffix(CERT_SUFFIX)

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Every algorithm this key (or certificate) can be used with, best first."""
        return algorithms_for_key_type(self.key_type)

    def plain(self) -> PublicKey:
        """The key itself, without the certificate (``self`` for a plain key)."""
        if self.cert is None:
            return self
        return PublicKey(
            self.plain_key_type, self.plain_blob, self.plain_blob, self.key, self.bits, None
        )

    def fingerprint_sha256(self) -> str:
        """``SHA256:`` and the unpadded base64 digest of the key, as ``ssh-keygen -l`` prints.

        For a certificate this is the fingerprint of the certified key, as in OpenSSH.
        """
        digest = hashlib.sha256(self.plain_blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def fingerprint_md5(self) -> bytes:
        """The raw 16-byte MD5 digest of the key (the pre-OpenSSH-6.8 fingerprint)."""
        return hashlib.md5(self.plain_blob, usedforsecurity=False).digest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return hmac.compare_digest(self.blob, other.blob)

    def __hash__(self) -> int:
        return hash(self.blob)

    def __repr__(self) -> str:
        return f"<PublicKey {self.key_type} {self.bits} bits {self.fingerprint_sha256()}>"

    # ---- verification

    def verify(self, algorithm: str, signature_blob: bytes, data: bytes) -> bool:
        """Check an RFC 4253 §6.6 signature blob over *data* made with *algorithm*.

        *algorithm* must suit this key's blob type (a certificate algorithm for a
        certificate), and the name inside the signature must be that algorithm's signature
        name. Returns ``False`` for any mismatch, malformed signature or bad signature.
        """
        spec = HOSTKEY_ALGORITHMS.get(algorithm)
        if spec is None or spec.key_type != self.key_type:
            return False
        try:
            r = Reader(signature_blob)
            if r.text() != spec.signature_name:
                return False
            sig = r.string()
            r.check_end()
            return self._verify_raw(spec, sig, data)
        except SSHException:
            return False

    def _verify_raw(self, spec: HostKeyAlgorithm, sig: bytes, data: bytes) -> bool:
        key = self.key
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                if len(sig) != _ED25519_SIG_SIZE:  # RFC 8709 §6
                    return False
                key.verify(sig, data)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                assert spec.hash is not None and self.curve is not None
                r = Reader(sig)  # RFC 5656 §3.1.2: mpint r, mpint s
                sig_r = r.positive_mpint()
                sig_s = r.positive_mpint()
                r.check_end()
                limit = self.curve.bits + 8
                if sig_r <= 0 or sig_s <= 0 or max(sig_r, sig_s).bit_length() > limit:
                    return False
                key.verify(encode_dss_signature(sig_r, sig_s), data, ec.ECDSA(spec.hash()))
            else:
                assert spec.hash is not None
                if self.bits < RSA_MIN_BITS:
                    return False
                size = (key.key_size + 7) // 8
                if len(sig) > size:
                    return False
                # RFC 8332 §3: some implementations drop leading zero bytes; pad as OpenSSH does.
                sig = sig.rjust(size, b"\x00")
                key.verify(sig, data, padding.PKCS1v15(), spec.hash())
        except (InvalidSignature, DecodeError, ValueError):
            return False
        return True


# --------------------------------------------------------------------------------------------
# Private keys


class PrivateKey:
    """A ``cryptography`` private key that signs in SSH form, optionally with a certificate.

    ``public`` is what is sent as the key blob (the certificate when one is attached);
    ``plain_public`` is always the key itself.
    """

    __slots__ = ("key", "plain_public", "public")

    key: PrivateKeyObject
    public: PublicKey
    plain_public: PublicKey

    def __init__(self, key: PrivateKeyObject, cert_blob: bytes | None = None) -> None:
        if not isinstance(
            key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
        ):
            raise SSHException(f"unsupported private key type: {type(key).__name__}")
        self.key = key
        self.plain_public = PublicKey.from_key(key.public_key())
        self.public = self.plain_public
        if cert_blob is not None:
            cert = PublicKey.from_blob(cert_blob)
            if cert.cert is None or cert.plain_blob != self.plain_public.blob:
                raise SSHException("certificate does not certify this private key")
            self.public = cert

    def with_certificate(self, cert_blob: bytes | None) -> PrivateKey:
        """The same key with *cert_blob* attached (or none, for ``None``)."""
        return PrivateKey(self.key, cert_blob)

    @property
    def key_type(self) -> str:
        """Type of the blob sent for this key (a certificate type when one is attached)."""
        return self.public.key_type

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Algorithms this key signs with, best first (certificate forms with a certificate)."""
        return self.public.algorithms

    def sign(self, algorithm: str, data: bytes) -> bytes:
        """Sign *data* and return the RFC 4253 §6.6 blob ``string name, string signature``.

        The name written is the plain algorithm (``rsa-sha2-512`` for
        ``rsa-sha2-512-cert-v01@openssh.com``). Raises :class:`SSHException` when
        *algorithm* is unknown or does not fit the key.
        """
        spec = HOSTKEY_ALGORITHMS.get(algorithm)
        if spec is None or spec.plain_key_type != self.plain_public.key_type:
            raise SSHException(
                f"cannot sign with {algorithm!r} using a {self.plain_public.key_type} key"
            )
        key = self.key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            sig = key.sign(data)  # RFC 8709 §6
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            assert spec.hash is not None
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(spec.hash())))
            sig = mpint(r) + mpint(s)  # RFC 5656 §3.1.2
        else:
            assert spec.hash is not None
            sig = key.sign(data, padding.PKCS1v15(), spec.hash())  # RFC 8332 §3
        return string(spec.signature_name) + string(sig)

    def __repr__(self) -> str:
        return f"<PrivateKey {self.public.key_type} {self.public.bits} bits>"
