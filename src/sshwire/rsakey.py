"""RSA keys (RFC 4253 §6.6, with the SHA-2 signature algorithms of RFC 8332)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from ._proto.algorithms.hostkey import CERT_SUFFIX
from .message import Message
from .pkey import PKey, _KeyFileRules
from .ssh_exception import SSHException

__all__ = ["RSAKey"]


class RSAKey(PKey):
    """An RSA key, public only or with its private half, that signs and verifies SSH data.

    Signatures use SHA-2 (``rsa-sha2-512`` by default, or ``rsa-sha2-256``); the SHA-1
    ``ssh-rsa`` signature algorithm is not offered through this class. The key blob type is
    ``ssh-rsa`` whichever hash signs.

    :param msg: a :class:`~sshwire.message.Message` holding a public key or certificate blob
    :param data: the same blob as bytes
    :param filename: a private key file to load
    :param password: passphrase for an encrypted key file
    :param key: a ``cryptography`` RSA private or public key object
    :param file_obj: an open file to read a private key from
    """

    #: Wire name of RSA key blobs.
    name = "ssh-rsa"
    #: Signature algorithms this class signs and verifies with, and their hashes.
    HASHES: dict[str, type[hashes.HashAlgorithm]] = {
        "rsa-sha2-256": hashes.SHA256,
        "rsa-sha2-256-cert-v01@openssh.com": hashes.SHA256,
        "rsa-sha2-512": hashes.SHA512,
        "rsa-sha2-512-cert-v01@openssh.com": hashes.SHA512,
    }

    _FILE_RULES = _KeyFileRules(
        "RSA",
        "RSA",
        lambda key: isinstance(key, rsa.RSAPrivateKey),
        "private key file is encrypted",
        "OpenSSH private key file checkints do not match",
    )

    def __init__(
        self,
        msg: Message | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        password: str | bytes | None = None,
        key: rsa.RSAPrivateKey | rsa.RSAPublicKey | None = None,
        file_obj: Any = None,
    ) -> None:
        self.public_blob = None
        if self._load_from_file_args(file_obj, filename, password):
            return
        if msg is None and data is not None:
            msg = Message(data)
        if key is not None:
            self.key = key
        else:
            self._pub = self._load_public(msg, ("ssh-rsa",))

    @classmethod
    def identifiers(cls) -> list[str]:
        """Every name this class loads: the SHA-2 algorithm names and the key/cert types."""
        return [*cls.HASHES, "ssh-rsa", "ssh-rsa" + CERT_SUFFIX]

    @property
    def key(self) -> rsa.RSAPrivateKey | rsa.RSAPublicKey:
        """The ``cryptography`` key: the private key when there is one, else the public key."""
        if self._priv is not None:
            assert isinstance(self._priv.key, rsa.RSAPrivateKey)
            return self._priv.key
        assert self._pub is not None and isinstance(self._pub.key, rsa.RSAPublicKey)
        return self._pub.key

    @key.setter
    def key(self, value: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> None:
        if isinstance(value, rsa.RSAPrivateKey):
            self._set_core_private(value)
        elif isinstance(value, rsa.RSAPublicKey):
            self._set_core_public(value)
        else:
            raise SSHException(f"not an RSA key: {type(value).__name__}")

    @property
    def size(self) -> int:
        """Modulus size in bits."""
        return self.key.key_size

    @property
    def private_key(self) -> rsa.RSAPrivateKey | None:
        """The ``cryptography`` private key, or ``None`` for a public-only key."""
        key = self.key
        return key if isinstance(key, rsa.RSAPrivateKey) else None

    @property
    def public_numbers(self) -> rsa.RSAPublicNumbers:
        """The public exponent and modulus (``e``, ``n``)."""
        key = self.key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.private_numbers().public_numbers
        return key.public_numbers()

    def asbytes(self) -> bytes:
        """The ``ssh-rsa`` public key blob: ``string "ssh-rsa", mpint e, mpint n``."""
        return super().asbytes()

    def __str__(self) -> str:
        # The blob as text, undecodable bytes dropped (what paramiko's str() gives).
        return self.asbytes().decode("utf8", errors="ignore")

    def get_name(self) -> str:
        """``"ssh-rsa"``."""
        return self.name

    def get_bits(self) -> int:
        """Modulus size in bits."""
        return self.size

    def can_sign(self) -> bool:
        """Whether the private key is present."""
        return self._priv is not None

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> Message:
        """Sign *data* with *algorithm* (default ``rsa-sha2-512``); return the signature message.

        A ``-cert-v01@openssh.com`` algorithm name signs like its plain form, and the plain
        name is what the signature carries. *algorithm* must be a key of :attr:`HASHES`
        (``KeyError`` otherwise).
        """
        if algorithm is None:
            algorithm = "rsa-sha2-512"
        if algorithm not in self.HASHES:
            raise KeyError(algorithm)  # as paramiko: SHA-1 "ssh-rsa" is not signed here
        return self._sign(algorithm.removesuffix(CERT_SUFFIX), data)

    def verify_ssh_sig(self, data: bytes, msg: Message) -> bool:
        """Whether *msg* holds a good ``rsa-sha2-256``/``rsa-sha2-512`` signature of *data*.

        Signatures shorter than the modulus (some clients strip leading zero bytes) are
        accepted, as OpenSSH accepts them.
        """
        accept: Callable[[str], str | None] = lambda name: name if name in self.HASHES else None  # noqa: E731
        return self._verify(data, msg, accept)

    @staticmethod
    def generate(bits: int, progress_func: Any = None) -> RSAKey:
        """Make a new RSA private key of *bits* bits (public exponent 65537).

        *progress_func* is accepted for compatibility and ignored.
        """
        return RSAKey(key=rsa.generate_private_key(public_exponent=65537, key_size=bits))
