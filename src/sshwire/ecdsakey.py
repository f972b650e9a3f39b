"""ECDSA keys on the NIST curves P-256, P-384 and P-521 (RFC 5656)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ._proto.algorithms.hostkey import ECDSA_CURVES, EcdsaCurve
from .message import Message
from .pkey import PKey, _KeyFileRules
from .ssh_exception import SSHException

__all__ = ["ECDSAKey"]


class _ECDSACurve:
    """What :attr:`ECDSAKey.ecdsa_curve` describes: one supported curve.

    Attributes: ``nist_name`` (``"nistp256"``), ``key_length`` (bits),
    ``key_format_identifier`` (``"ecdsa-sha2-nistp256"``), ``hash_object`` (the
    ``cryptography`` hash class of RFC 5656 §6.2.1) and ``curve_class``.
    """

    def __init__(self, spec: EcdsaCurve) -> None:
        self.nist_name: str = spec.ssh_name
        self.key_length: int = spec.bits
        self.key_format_identifier: str = spec.key_type
        self.hash_object: type[hashes.HashAlgorithm] = spec.hash
        self.curve_class: type[ec.EllipticCurve] = spec.curve

    def __repr__(self) -> str:
        return f"<ECDSA curve {self.key_format_identifier}>"


_CURVES: dict[str, _ECDSACurve] = {name: _ECDSACurve(spec) for name, spec in ECDSA_CURVES.items()}
_BY_CURVE_NAME: dict[str, _ECDSACurve] = {c.curve_class().name: c for c in _CURVES.values()}
_BY_BITS: dict[int, _ECDSACurve] = {c.key_length: c for c in _CURVES.values()}


# The default curve of generate(); one shared instance, as paramiko's default argument.
_P256 = ec.SECP256R1()


def _curve_for(curve: ec.EllipticCurve) -> _ECDSACurve:
    found = _BY_CURVE_NAME.get(curve.name)
    if found is None:
        raise SSHException(f"Can't handle curve of type {curve.name}")
    return found


class ECDSAKey(PKey):
    """An ECDSA key on NIST P-256, P-384 or P-521, public only or with its private half.

    The signature hash is fixed by the curve (SHA-256, SHA-384, SHA-512).

    :param msg: a :class:`~sshwire.message.Message` holding a public key or certificate blob
    :param data: the same blob as bytes
    :param filename: a private key file to load
    :param password: passphrase for an encrypted key file
    :param vals: a ``(private_key, public_key)`` pair of ``cryptography`` EC keys; the
        private key may be ``None`` for a public-only key
    :param file_obj: an open file to read a private key from
    :param validate_point: accepted for compatibility; points are always validated
    """

    _FILE_RULES = _KeyFileRules(
        "EC",
        "EC",
        lambda key: (
            isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _BY_CURVE_NAME
        ),
        "private key file is encrypted",
        "OpenSSH private key file checkints do not match",
    )

    def __init__(
        self,
        msg: Message | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        password: str | bytes | None = None,
        vals: tuple[ec.EllipticCurvePrivateKey | None, ec.EllipticCurvePublicKey] | None = None,
        file_obj: Any = None,
        validate_point: bool = True,
    ) -> None:
        self.public_blob = None
        if self._load_from_file_args(file_obj, filename, password):
            return
        if msg is None and data is not None:
            msg = Message(data)
        if vals is not None:
            signing_key, verifying_key = vals
            if signing_key is not None:
                _curve_for(signing_key.curve)
                self._set_core_private(signing_key)
            else:
                _curve_for(verifying_key.curve)
                self._set_core_public(verifying_key)
        else:
            self._pub = self._load_public(msg, tuple(_CURVES))

    @classmethod
    def identifiers(cls) -> list[str]:
        """The key type names this class loads (one per curve)."""
        return list(_CURVES)

    @classmethod
    def supported_key_format_identifiers(cls) -> list[str]:
        """The same as :meth:`identifiers` (an older name)."""
        return cls.identifiers()

    @property
    def ecdsa_curve(self) -> _ECDSACurve:
        """The curve of this key (names, size, hash)."""
        assert self._pub is not None
        return _CURVES[self._pub.key_type]

    @property
    def signing_key(self) -> ec.EllipticCurvePrivateKey | None:
        """The ``cryptography`` private key, or ``None`` for a public-only key."""
        if self._priv is None:
            return None
        assert isinstance(self._priv.key, ec.EllipticCurvePrivateKey)
        return self._priv.key

    @property
    def verifying_key(self) -> ec.EllipticCurvePublicKey:
        """The ``cryptography`` public key."""
        assert self._pub is not None and isinstance(self._pub.key, ec.EllipticCurvePublicKey)
        return self._pub.key

    def asbytes(self) -> bytes:
        """The public key blob: ``string type, string curve name, string point`` (RFC 5656)."""
        return super().asbytes()

    def __str__(self) -> str:
        return self.asbytes().decode("utf8", errors="ignore")

    def get_name(self) -> str:
        """The key type, e.g. ``"ecdsa-sha2-nistp256"``."""
        return self.ecdsa_curve.key_format_identifier

    def get_bits(self) -> int:
        """The curve size in bits: 256, 384 or 521."""
        return self.ecdsa_curve.key_length

    def can_sign(self) -> bool:
        """Whether the private key is present."""
        return self._priv is not None

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> Message:
        """Sign *data* and return the signature message (*algorithm* is ignored: the curve
        decides it).
        """
        return self._sign(self.get_name(), data)

    def verify_ssh_sig(self, data: bytes, msg: Message) -> bool:
        """Whether *msg* holds a good signature of *data* by this key."""
        name = self.get_name()
        return self._verify(data, msg, lambda sig_name: name if sig_name == name else None)

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey | None:
        """The ``cryptography`` private key, or ``None`` (same as :attr:`signing_key`)."""
        return self.signing_key

    @classmethod
    def generate(
        cls,
        curve: ec.EllipticCurve = _P256,
        progress_func: Any = None,
        bits: int | None = None,
    ) -> ECDSAKey:
        """Make a new private key on *curve*, or on the curve of *bits* bits when given.

        *progress_func* is accepted for compatibility and ignored. Raises ``ValueError``
        for a size with no supported curve.
        """
        if bits is not None:
            found = _BY_BITS.get(bits)
            if found is None:
                raise ValueError(f"Unsupported key length: {bits:d}")
            curve = found.curve_class()
        _curve_for(curve)
        private_key = ec.generate_private_key(curve)
        return ECDSAKey(vals=(private_key, private_key.public_key()))
