"""The :class:`PKey` base class of SSH keys, key files, and OpenSSH public blobs/certificates.

:class:`PKey` has paramiko's API: the key classes :class:`~sshwire.rsakey.RSAKey`,
:class:`~sshwire.ecdsakey.ECDSAKey` and :class:`~sshwire.ed25519key.Ed25519Key` derive from it,
and :meth:`PKey.from_path` / :meth:`PKey.from_type_string` pick the right one. Every key is a
face over :mod:`sshwire._proto.algorithms.hostkey`, which does the wire encoding, signing and
verification; this module adds files and paramiko's conventions.

Private key files are read with ``cryptography`` (``load_ssh_private_key`` for the OpenSSH
format, ``load_pem_private_key`` for PEM): the OpenSSH format with or without a passphrase
(bcrypt KDF), traditional PEM (PKCS#1 RSA, SEC1 EC, optionally encrypted) and PKCS#8 (plain or
encrypted). This module only finds the PEM block and looks at its envelope (label, encryption
headers, the OpenSSH cipher name) so that a missing or wrong passphrase gives the exception
paramiko gives. Passphrases and key material never appear in exception messages or logs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, NamedTuple

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning

from ._proto.algorithms.hostkey import CERT_SUFFIX
from ._proto.algorithms.hostkey import PrivateKey as _CorePrivateKey
from ._proto.algorithms.hostkey import PublicKey as _CorePublicKey
from ._proto.errors import DecodeError
from ._proto.wire import Reader
from .message import Message
from .ssh_exception import PasswordRequiredException, SSHException

if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "OPENSSH",
    "OPENSSH_AUTH_MAGIC",
    "PEM",
    "FileFormat",
    "PKey",
    "PrivateKey",
    "PublicBlob",
    "UnknownKeyType",
    "key_classes",  # noqa: F822 - provided by the module __getattr__ below
]

#: The magic string that starts a decoded OpenSSH-format private key (PROTOCOL.key).
OPENSSH_AUTH_MAGIC = b"openssh-key-v1\x00"

#: The ``cryptography`` private key types a :class:`PKey` can hold.
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_O600 = 0o600


class UnknownKeyType(Exception):
    """A key file or blob holds a key algorithm that no key class here supports.

    :param key_type: the type found (a name such as ``"ssh-dss"``, or the ``cryptography``
        class of a loaded key)
    :param key_bytes: the data that was being loaded
    """

    def __init__(self, key_type: Any = None, key_bytes: Any = None) -> None:
        self.key_type = key_type
        self.key_bytes = key_bytes

    def __str__(self) -> str:
        size = 0 if self.key_bytes is None else len(self.key_bytes)
        return f"UnknownKeyType(type={self.key_type!r}, bytes=<{size}>)"


class FileFormat(NamedTuple):
    """A private key file layout: a ``cryptography`` private format plus an encoding."""

    format: serialization.PrivateFormat
    encoding: serialization.Encoding


#: Traditional PEM (``BEGIN RSA PRIVATE KEY`` / ``BEGIN EC PRIVATE KEY``): the default.
PEM = FileFormat(
    format=serialization.PrivateFormat.TraditionalOpenSSL,
    encoding=serialization.Encoding.PEM,
)
#: OpenSSH's own format (``BEGIN OPENSSH PRIVATE KEY``), as ``ssh-keygen`` writes by default.
OPENSSH = FileFormat(
    format=serialization.PrivateFormat.OpenSSH,
    encoding=serialization.Encoding.PEM,
)


def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None or isinstance(password, bytes):
        return password
    return password.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Reading private key files

# Any "-----BEGIN <label> PRIVATE KEY-----" line; label "" and "ENCRYPTED" are PKCS#8.
_ANY_BEGIN = re.compile(r"^-{5}BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-{5}\s*$")
_ANY_END = re.compile(r"^-{5}END ((?:[A-Z0-9]+ )*)PRIVATE KEY-{5}\s*$")
_PKCS8_LABELS = ("", "ENCRYPTED")
_BAD_PEM_PASSWORD = "Bad password or corrupt private key file"


class _KeyFileRules(NamedTuple):
    """How one key class reports problems with a key file (paramiko's messages)."""

    tag: str  # the PEM label this class reads: "RSA", "EC", "OPENSSH"; "" for any
    label: str  # the key kind named in mismatch messages: "RSA", "EC", "ED25519"
    accepts: Callable[[object], bool]
    openssh_needs_password: str
    openssh_bad_password: str


_ANY_KEY = _KeyFileRules(
    "",
    "",
    lambda key: True,
    "Private key file is encrypted",
    "OpenSSH private key file checkints do not match",
)


def _label_of(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "EC"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519"
    return type(key).__name__


def _text_lines(lines: Sequence[str | bytes]) -> list[str]:
    return [ln.decode("ascii", "replace") if isinstance(ln, bytes) else ln for ln in lines]


def _decode_private_key(
    lines: Sequence[str | bytes], password: str | bytes | None, rules: _KeyFileRules
) -> Any:
    """Find the private key block in *lines*, check its envelope, and load it."""
    tag = rules.tag
    what = f"{tag} private key file" if tag else "private key file"
    text = _text_lines(lines)
    if not text:
        raise SSHException(f"no lines in {what}")
    start = next((i for i, ln in enumerate(text) if _ANY_BEGIN.match(ln)), None)
    if start is None or start + 1 >= len(text):
        raise SSHException(f"not a valid {what}")
    match = _ANY_BEGIN.match(text[start])
    assert match is not None
    label = match.group(1).strip()
    if tag and label not in _PKCS8_LABELS and label not in (tag, "OPENSSH"):
        raise SSHException(f"encountered {label} key, expected {tag} key")
    stop = next((i for i in range(start + 1, len(text)) if _ANY_END.match(text[i])), len(text))
    body = [ln.strip() for ln in text[start + 1 : stop]]
    armored = "\n".join([f"-----BEGIN {match.group(1)}PRIVATE KEY-----", *body])
    armored += f"\n-----END {match.group(1)}PRIVATE KEY-----\n"
    pem = armored.encode("ascii", "replace")  # a stray non-ASCII byte just fails to parse
    secret = _password_bytes(password)

    if label == "OPENSSH":
        key = _load_openssh(body, pem, secret, rules)
    else:
        pkcs8 = label in _PKCS8_LABELS
        encrypted = label == "ENCRYPTED" if pkcs8 else _pem_encrypted(body)
        if encrypted and secret is None:
            raise PasswordRequiredException("Private key file is encrypted")
        if encrypted and not secret:
            raise SSHException(_BAD_PEM_PASSWORD)
        try:
            with _quiet_deprecations():  # a DSA file is refused below, not used
                key = serialization.load_pem_private_key(pem, secret if encrypted else None)
        except UnsupportedAlgorithm:
            raise SSHException("Unsupported private key cipher or algorithm") from None
        except (ValueError, TypeError) as exc:
            if encrypted:
                raise SSHException(_BAD_PEM_PASSWORD) from None
            raise SSHException(f"Invalid private key: {exc}") from None

    if not rules.accepts(key):
        if isinstance(key, ec.EllipticCurvePrivateKey) and rules.label == "EC":
            raise SSHException(f"Can't handle curve of type {key.curve.name}")
        raise SSHException(f"encountered {_label_of(key)} key, expected {rules.label} key")
    return key


@contextlib.contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """Loading a DSA key warns with cryptography 51+; we refuse such keys with our own
    error, so the warning would only be noise (or an error under ``-W error``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def _pem_encrypted(body: Sequence[str]) -> bool:
    """Whether traditional PEM headers (RFC 1421 style) say the block is encrypted."""
    headers: dict[str, str] = {}
    for line in body:
        name, sep, value = line.partition(": ")
        if not sep:
            break
        headers[name.lower()] = value.strip()
    proc_type = headers.get("proc-type")
    if proc_type is None:
        return False
    if proc_type != "4,ENCRYPTED":
        raise SSHException(f'Unknown private key structure "{proc_type}"')
    if "," not in headers.get("dek-info", ""):
        raise SSHException("Can't parse DEK-info in private key file")
    return True


def _load_openssh(
    body: Sequence[str], armored: bytes, secret: bytes | None, rules: _KeyFileRules
) -> Any:
    """Load an OpenSSH-format key (PROTOCOL.key) after peeking at its cipher name."""
    try:
        raw = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SSHException(f"base64 decoding error: {exc}") from None
    if not raw.startswith(OPENSSH_AUTH_MAGIC):
        raise SSHException("unexpected OpenSSH key header encountered")
    try:
        r = Reader(raw[len(OPENSSH_AUTH_MAGIC) :])
        cipher = r.text()
        kdf = r.text()
    except DecodeError:
        raise SSHException("Invalid key") from None
    encrypted = cipher != "none" or kdf != "none"
    if encrypted and not secret:
        raise PasswordRequiredException(rules.openssh_needs_password)
    try:
        with _quiet_deprecations():
            return serialization.load_ssh_private_key(armored, secret if encrypted else None)
    except UnsupportedAlgorithm:
        raise SSHException(f"unknown cipher `{cipher}` used in private key file") from None
    except (ValueError, TypeError) as exc:
        if encrypted:
            raise SSHException(rules.openssh_bad_password) from None
        raise SSHException(f"Invalid key: {exc}") from None


def _read_lines(file_obj: Any) -> list[str | bytes]:
    return list(file_obj.readlines())


# --------------------------------------------------------------------------------------------
# PKey


class PKey:
    """Base class of SSH keys: a public key, optionally with its private half.

    Use a subclass (or :meth:`from_path` / :meth:`from_type_string`, which choose one). Keys
    compare equal when their public parts are equal, whether or not they can sign.
    """

    #: Start of a private key block this family of classes reads (paramiko's pattern).
    BEGIN_TAG = re.compile(r"^-{5}BEGIN (RSA|EC|OPENSSH) PRIVATE KEY-{5}\s*$")
    #: End of such a block.
    END_TAG = re.compile(r"^-{5}END (RSA|EC|OPENSSH) PRIVATE KEY-{5}\s*$")

    # How this class reports key file problems; set by each subclass.
    _FILE_RULES: ClassVar[_KeyFileRules] = _ANY_KEY

    # The key, as the protocol core sees it: always the plain key (no certificate).
    _pub: _CorePublicKey | None = None
    _priv: _CorePrivateKey | None = None
    #: The certificate (or public key) loaded with :meth:`load_certificate`, if any.
    public_blob: PublicBlob | None = None

    # ---- factories

    @staticmethod
    def from_path(path: str | PathLike[str], password: str | bytes | None = None) -> PKey:
        """Load a private key file of any supported type, choosing the key class.

        *path* may also name the key's certificate (``...-cert.pub``); either way, a
        certificate next to the key (``<key path>-cert.pub``) is loaded too. ``~`` is
        expanded. Raises :class:`UnknownKeyType` for a key type no class supports,
        :class:`~sshwire.ssh_exception.PasswordRequiredException` when the file is encrypted
        and no *password* is given, :class:`~sshwire.ssh_exception.SSHException` when the
        file is invalid or the password is wrong.
        """
        from .ecdsakey import ECDSAKey
        from .ed25519key import Ed25519Key
        from .rsakey import RSAKey

        name = str(path)
        suffix = "-cert.pub"
        if name.endswith(suffix):
            key_path, cert_path = name[: -len(suffix)], name
        else:
            key_path, cert_path = name, name + suffix
        key_file = Path(key_path).expanduser()
        cert_file = Path(cert_path).expanduser()
        data = key_file.read_bytes()
        loaded = _decode_private_key(data.splitlines(keepends=True), password, _ANY_KEY)
        key: PKey
        if isinstance(loaded, rsa.RSAPrivateKey):
            key = RSAKey(key=loaded)
        elif isinstance(loaded, ed25519.Ed25519PrivateKey):
            key = Ed25519Key._from_private(loaded)
        elif isinstance(loaded, ec.EllipticCurvePrivateKey):
            key = ECDSAKey(vals=(loaded, loaded.public_key()))
        else:
            raise UnknownKeyType(key_bytes=data, key_type=loaded.__class__)
        if cert_file.exists():
            key.load_certificate(str(cert_file))
        return key

    @staticmethod
    def from_type_string(
        key_type: str, key_bytes: bytes, password: str | bytes | None = None
    ) -> PKey:
        """Build a key of the class that handles *key_type* from its public blob *key_bytes*.

        For example ``PKey.from_type_string("ssh-ed25519", blob)`` gives an
        :class:`~sshwire.ed25519key.Ed25519Key`. Raises :class:`UnknownKeyType` when no class
        in ``key_classes`` lists *key_type* among its :meth:`identifiers`.
        """
        for key_class in _registered_key_classes():
            if key_type in key_class.identifiers():
                return key_class(data=key_bytes, password=password)  # type: ignore[call-arg]
        raise UnknownKeyType(key_type=key_type, key_bytes=key_bytes)

    @classmethod
    def identifiers(cls) -> list[str]:
        """The key type names (as used on the wire) that this class can load."""
        name: str = getattr(cls, "name")  # noqa: B009 - PKey itself has none, as in paramiko
        return [name]

    def __init__(self, msg: Message | None = None, data: bytes | None = None) -> None:
        """The base class holds no key; subclasses load one from *msg* or *data*."""

    # ---- description

    def __repr__(self) -> str:
        comment = getattr(self, "comment", None)
        extra = f", comment={comment!r}" if comment else ""
        return (
            f"PKey(alg={self.algorithm_name}, bits={self.get_bits()}, fp={self.fingerprint}{extra})"
        )

    def asbytes(self) -> bytes:
        """The public key in SSH wire form (the blob that ``data=`` accepts back)."""
        return b"" if self._pub is None else self._pub.plain_blob

    def __bytes__(self) -> bytes:
        """The same as :meth:`asbytes`."""
        return self.asbytes()

    @property
    def _fields(self) -> tuple[Any, ...]:
        if self._pub is None:
            raise NotImplementedError
        return (self.get_name(), self._pub.plain_blob)

    def __eq__(self, other: object) -> bool:
        """Keys are equal when they have the same type and public key (compared in
        constant time)."""
        if not isinstance(other, PKey):
            return False
        (name, blob), (other_name, other_blob) = self._fields, other._fields
        return name == other_name and hmac.compare_digest(blob, other_blob)

    def __hash__(self) -> int:
        """A hash of the key type and public key, consistent with ``==``."""
        return hash(self._fields)

    def get_name(self) -> str:
        """The key type name used on the wire, e.g. ``"ssh-rsa"`` (``""`` for the base class)."""
        return ""

    @property
    def algorithm_name(self) -> str:
        """Short upper-case algorithm name as OpenSSH shows it: ``RSA``, ``ECDSA``,
        ``ED25519``, or e.g. ``RSA-CERT`` for a certificate type name.
        """
        name = self.get_name().replace("ssh-", "")
        # Certificates keep a "-cert" tail; other suffixes (the ECDSA curve) are dropped.
        name = name.replace(CERT_SUFFIX, "-cert") if CERT_SUFFIX in name else name.split("-")[0]
        return name.upper()

    def get_bits(self) -> int:
        """Size of the key in bits (0 for the base class)."""
        return 0

    def can_sign(self) -> bool:
        """Whether the private half is present, so that this key can sign."""
        return False

    def get_fingerprint(self) -> bytes:
        """The 16-byte MD5 digest of the public blob (the legacy fingerprint)."""
        return hashlib.md5(self.asbytes(), usedforsecurity=False).digest()

    @property
    def fingerprint(self) -> str:
        """The SHA-256 fingerprint as OpenSSH prints it: ``SHA256:`` and unpadded base64."""
        digest = hashlib.sha256(self.asbytes()).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def get_base64(self) -> str:
        """The public blob in base64, on one line, as in ``.pub`` and ``known_hosts`` files."""
        return base64.b64encode(self.asbytes()).decode("ascii")

    # ---- signatures

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> Message | bytes:
        """Sign *data*; subclasses return the SSH signature as a :class:`Message`."""
        return b""

    def verify_ssh_sig(self, data: bytes, msg: Message) -> bool:
        """Whether *msg* (an SSH signature) is a good signature of *data* by this key."""
        return False

    def _sign(self, algorithm: str, data: bytes) -> Message:
        if self._priv is None:
            raise SSHException("this key cannot sign: it has no private part")
        # Written, not parsed: the cursor ends up after the signature, as in paramiko.
        msg = Message()
        msg.add_bytes(self._priv.sign(algorithm, data))
        return msg

    def _verify(self, data: bytes, msg: Any, accept: Callable[[str], str | None]) -> bool:
        """Read ``string algorithm, string signature`` from *msg*; check it with the core.

        *accept* maps the algorithm name in the signature to the core algorithm to check it
        with, or ``None`` to refuse it.
        """
        if self._pub is None:
            return False
        try:
            if isinstance(msg, (bytes, bytearray, memoryview)):
                msg = Message(bytes(msg))
            name = msg.get_text()
            sig = msg.get_binary()
        except (UnicodeError, ValueError, TypeError, AttributeError):
            return False
        algorithm = accept(name)
        if algorithm is None:
            return False
        spec_name = algorithm.removesuffix(CERT_SUFFIX)
        blob = _wire_string(spec_name.encode()) + _wire_string(sig)
        return self._pub.verify(spec_name, blob, bytes(data))

    # ---- private key files

    @classmethod
    def from_private_key_file(cls, filename: str, password: str | bytes | None = None) -> PKey:
        """Load a private key of this class from the file *filename*.

        Raises ``OSError`` if the file cannot be read,
        :class:`~sshwire.ssh_exception.PasswordRequiredException` if it is encrypted and no
        *password* is given, and :class:`~sshwire.ssh_exception.SSHException` if it is not a
        valid key of this type or the password is wrong.
        """
        return cls(filename=filename, password=password)  # type: ignore[call-arg]

    @classmethod
    def from_private_key(cls, file_obj: IO[Any], password: str | bytes | None = None) -> PKey:
        """Load a private key of this class from an open file object (text or binary)."""
        return cls(file_obj=file_obj, password=password)  # type: ignore[call-arg]

    def write_private_key_file(
        self, filename: str, password: str | bytes | None = None, file_format: FileFormat = PEM
    ) -> None:
        """Write the private key to *filename*, created with mode 0600 (owner only).

        With *password*, the file is encrypted. *file_format* is :data:`PEM` (the default)
        or :data:`OPENSSH`; see :meth:`write_private_key`. An existing file that others may
        read is restricted to 0600 before the key is written into it.
        """
        fd = os.open(filename, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, _O600)
        try:
            if os.fstat(fd).st_mode & 0o077:  # an existing file: restrict it first
                os.fchmod(fd, _O600)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "w") as f:
            self.write_private_key(f, password=password, file_format=file_format)

    def write_private_key(
        self, file_obj: IO[Any], password: str | bytes | None = None, file_format: FileFormat = PEM
    ) -> None:
        """Write the private key to an open file object, encrypted when *password* is given.

        Ed25519 keys have no traditional PEM form, so for them :data:`PEM` means the OpenSSH
        format, as with ``ssh-keygen -m PEM``. Raises
        :class:`~sshwire.ssh_exception.SSHException` for a key without a private part.
        """
        key = self._priv.key if self._priv is not None else None
        if key is None:
            raise SSHException("cannot write a private key file: this key has no private part")
        fmt = file_format
        if (
            isinstance(key, ed25519.Ed25519PrivateKey)
            and fmt.format is serialization.PrivateFormat.TraditionalOpenSSL
        ):
            fmt = OPENSSH
        encryption: serialization.KeySerializationEncryption
        secret = _password_bytes(password)
        if secret is None:
            encryption = serialization.NoEncryption()
        else:
            encryption = serialization.BestAvailableEncryption(secret)
        text = key.private_bytes(fmt.encoding, fmt.format, encryption)
        try:
            file_obj.write(text.decode("ascii"))
        except TypeError:
            file_obj.write(text)

    def _load_private_file(
        self, filename: str | PathLike[str], password: str | bytes | None
    ) -> Any:
        with open(filename, "rb") as f:
            return _decode_private_key(
                f.read().splitlines(keepends=True), password, self._FILE_RULES
            )

    def _load_private_obj(self, file_obj: Any, password: str | bytes | None) -> Any:
        return _decode_private_key(_read_lines(file_obj), password, self._FILE_RULES)

    def _load_from_file_args(
        self, file_obj: Any, filename: str | PathLike[str] | None, password: str | bytes | None
    ) -> bool:
        """The constructors' file_obj/filename arguments: load the private key if given one."""
        if file_obj is not None:
            self._set_core_private(self._load_private_obj(file_obj, password))
            return True
        if filename is not None:
            self._set_core_private(self._load_private_file(filename, password))
            return True
        return False

    # ---- public blobs and certificates

    def _load_public(self, msg: Any, types: Sequence[str]) -> _CorePublicKey:
        """Parse the public key (or certificate) in *msg*; keep a certificate in public_blob.

        Returns the plain key. Leaves *msg* positioned after the key, as paramiko does.
        """
        if msg is None:
            raise SSHException("Key object may not be empty")
        msg.rewind()
        data = bytes(msg.asbytes())
        try:
            key_type = Reader(data).text()
        except DecodeError:
            raise SSHException("Invalid key: cannot read the key type") from None
        if key_type not in types and key_type.removesuffix(CERT_SUFFIX) not in types:
            # paramiko's wording, unbalanced parenthesis included
            raise SSHException(f"Invalid key (class: {type(self).__name__}, data type: {key_type}")
        pub, used = _CorePublicKey.parse_prefix(data)
        msg.get_bytes(used)
        if pub.cert is not None:
            self.public_blob = PublicBlob(type_=pub.key_type, blob=pub.blob)
        return pub.plain()

    def load_certificate(self, value: Any) -> None:
        """Attach an OpenSSH certificate (or public key) to this key.

        *value* is a :class:`~sshwire.message.Message` holding the blob, a
        :class:`PublicBlob`, the path of a ``-cert.pub`` file, or the text of one. The
        certificate is then offered in public key authentication. Raises ``ValueError`` when
        its type does not belong to this key's type. The certificate's contents are not
        validated here; the server decides whether it is acceptable.
        """
        blob: PublicBlob
        if isinstance(value, PublicBlob):
            blob = value
        elif isinstance(value, Message) or (
            hasattr(value, "get_text") and hasattr(value, "asbytes")
        ):
            blob = PublicBlob.from_message(value)
        elif os.path.isfile(value):
            blob = PublicBlob.from_file(value)
        else:
            blob = PublicBlob.from_string(value)
        if not blob.key_type.startswith(self.get_name()):
            raise ValueError(
                f"PublicBlob type {blob.key_type} incompatible with key type {self.get_name()}"
            )
        self.public_blob = blob

    # ---- the protocol core's view (used by the transport, not public API)

    def _proto_public(self) -> _CorePublicKey:
        """The key as the core sees it: the certificate when one is loaded."""
        if self._pub is None:
            raise SSHException("key object holds no key")
        blob = self.public_blob
        if blob is not None and blob.key_type.endswith(CERT_SUFFIX):
            return _CorePublicKey.from_blob(blob.key_blob)
        return self._pub

    def _proto_private(self) -> _CorePrivateKey:
        """The signing key for the core, with the loaded certificate attached.

        Raises :class:`~sshwire.ssh_exception.SSHException` for a key without a private part,
        or when the loaded certificate certifies another key.
        """
        if self._priv is None:
            raise SSHException("this key cannot sign: it has no private part")
        blob = self.public_blob
        if blob is not None and blob.key_type.endswith(CERT_SUFFIX):
            return self._priv.with_certificate(blob.key_blob)
        return self._priv

    @staticmethod
    def _from_proto(key: _CorePublicKey) -> PKey:
        """A public-only key object for a core public key (a certificate is kept attached)."""
        from .ecdsakey import ECDSAKey
        from .ed25519key import Ed25519Key
        from .rsakey import RSAKey

        classes: dict[str, type[PKey]] = {"rsa": RSAKey, "ecdsa": ECDSAKey, "ed25519": Ed25519Key}
        return classes[key.family](data=key.blob)

    def _set_core_private(self, key: Any) -> None:
        self._priv = _CorePrivateKey(key)
        self._pub = self._priv.plain_public

    def _set_core_public(self, key: Any) -> None:
        self._priv = None
        self._pub = _CorePublicKey.from_key(key)


def _wire_string(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


# --------------------------------------------------------------------------------------------
# PublicBlob


class PublicBlob:
    """An OpenSSH public key or certificate as stored in a ``.pub`` / ``-cert.pub`` file.

    It keeps the type name, the raw blob and the comment, and interprets nothing else.
    Usually built with :meth:`from_file`, :meth:`from_string` or :meth:`from_message`.

    :param type_: the key type name, e.g. ``"ssh-ed25519-cert-v01@openssh.com"``
    :param blob: the key or certificate blob
    :param comment: the comment that followed it in a file, if any
    """

    def __init__(self, type_: str, blob: bytes, comment: str | None = None) -> None:
        self.key_type = type_
        self.key_blob = blob
        self.comment = comment

    @classmethod
    def from_file(cls, filename: str | PathLike[str]) -> PublicBlob:
        """Read a ``.pub`` or ``-cert.pub`` file."""
        with open(filename) as f:
            return cls.from_string(f.read())

    @classmethod
    def from_string(cls, string: str) -> PublicBlob:
        """Parse one ``<type> <base64 blob> [comment]`` line.

        Raises ``ValueError`` when fields are missing or the blob's own type differs from
        the type named before it.
        """
        fields = string.split(None, 2)
        if len(fields) < 2:
            raise ValueError(f"Not enough fields for public blob: {fields}")
        key_type = fields[0]
        key_blob = base64.decodebytes(fields[1].encode("utf-8"))
        comment = fields[2].strip() if len(fields) > 2 else None
        blob_type = Message(key_blob).get_text()
        if blob_type != key_type:
            details = f"key type={key_type!r}, but blob type={blob_type!r}"
            raise ValueError(f"Invalid PublicBlob contents: {details}")
        return cls(type_=key_type, blob=key_blob, comment=comment)

    @classmethod
    def from_message(cls, message: Message) -> PublicBlob:
        """Take the blob from a message that holds exactly one key or certificate.

        The type is read at the message's current position; the blob is the whole message.
        """
        type_ = message.get_text()
        return cls(type_=type_, blob=message.asbytes())

    def __str__(self) -> str:
        text = f"{self.key_type} public key/certificate"
        if self.comment:
            text += f"- {self.comment}"
        return text

    def __eq__(self, other: object) -> bool:
        if not other or not hasattr(other, "key_blob"):
            return False
        theirs = other.key_blob
        return isinstance(theirs, bytes) and hmac.compare_digest(self.key_blob, theirs)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# key_classes (built on first use, to avoid importing the key modules from here)


def _default_key_classes() -> list[type[PKey]]:
    from .ecdsakey import ECDSAKey
    from .ed25519key import Ed25519Key
    from .rsakey import RSAKey

    return [RSAKey, Ed25519Key, ECDSAKey]


_KEY_CLASSES: list[type[PKey]] = []


def _registered_key_classes() -> list[type[PKey]]:
    """``sshwire.key_classes`` (which users may extend), else this module's list."""
    import sshwire

    found = getattr(sshwire, "key_classes", None)
    if isinstance(found, list):
        return found
    return __getattr__("key_classes")


def __getattr__(name: str) -> list[type[PKey]]:
    # PEP 562: ``key_classes`` is created on first access, then cached as a module global.
    if name == "key_classes":
        if not _KEY_CLASSES:
            _KEY_CLASSES.extend(_default_key_classes())
        globals()["key_classes"] = _KEY_CLASSES
        return _KEY_CLASSES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
