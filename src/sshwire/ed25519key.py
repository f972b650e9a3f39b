"""Ed25519 keys (RFC 8709)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from .message import Message
from .pkey import PKey, _KeyFileRules

__all__ = ["Ed25519Key"]


class Ed25519Key(PKey):
    """An Ed25519 key, public only or with its private half.

    Private keys come from OpenSSH-format files (``BEGIN OPENSSH PRIVATE KEY``, what
    ``ssh-keygen`` writes) or PKCS#8 files.

    :param msg: a :class:`~sshwire.message.Message` holding a public key or certificate blob
    :param data: the same blob as bytes
    :param filename: a private key file to load
    :param password: passphrase for an encrypted key file
    :param file_obj: an open file to read a private key from
    :raises ValueError: when none of *msg*, *data*, *filename*, *file_obj* is given
    """

    #: Wire name of Ed25519 key blobs.
    name = "ssh-ed25519"

    _FILE_RULES = _KeyFileRules(
        "OPENSSH",
        "ED25519",
        lambda key: isinstance(key, ed25519.Ed25519PrivateKey),
        "Private key file is encrypted",
        "Invalid key",
    )

    def __init__(
        self,
        msg: Message | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        password: str | bytes | None = None,
        file_obj: Any = None,
    ) -> None:
        self.public_blob = None
        if msg is None and data is not None:
            msg = Message(data)
        if msg is not None:
            self._pub = self._load_public(msg, (self.name,))
        elif filename is not None:
            self._set_core_private(self._load_private_file(filename, password))
        elif file_obj is not None:
            self._set_core_private(self._load_private_obj(file_obj, password))
        else:
            raise ValueError("need a key")

    @classmethod
    def _from_private(cls, key: ed25519.Ed25519PrivateKey) -> Ed25519Key:
        """Wrap a ``cryptography`` private key (used by :meth:`PKey.from_path`)."""
        self = cls.__new__(cls)
        self.public_blob = None
        self._set_core_private(key)
        return self

    def asbytes(self) -> bytes:
        """The public key blob: ``string "ssh-ed25519", string key`` (RFC 8709 §4)."""
        return super().asbytes()

    def get_name(self) -> str:
        """``"ssh-ed25519"``."""
        return self.name

    def get_bits(self) -> int:
        """256."""
        return 256

    def can_sign(self) -> bool:
        """Whether the private key is present."""
        return self._priv is not None

    def can_verify(self) -> bool:
        """Whether the public key is present (always, for a loaded key)."""
        return self._pub is not None

    @property
    def verifying_key(self) -> ed25519.Ed25519PublicKey | None:
        """The public key, as a ``cryptography`` ``Ed25519PublicKey``."""
        if self._pub is None:
            return None
        key = self._pub.key
        assert isinstance(key, ed25519.Ed25519PublicKey)
        return key

    @property
    def private_key(self) -> ed25519.Ed25519PrivateKey | None:
        """The ``cryptography`` private key, or ``None`` for a public-only key."""
        if self._priv is None:
            return None
        key = self._priv.key
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> Message:
        """Sign *data* and return the ``ssh-ed25519`` signature message (*algorithm* is
        ignored).
        """
        return self._sign(self.name, data)

    def verify_ssh_sig(self, data: bytes, msg: Message) -> bool:
        """Whether *msg* holds a good ``ssh-ed25519`` signature of *data* by this key."""
        return self._verify(data, msg, lambda name: name if name == self.name else None)
