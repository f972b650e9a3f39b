"""The key classes against paramiko 5.1: names, signatures, and behaviour on the same keys.

* Every public name paramiko's ``pkey``, ``rsakey``, ``ecdsakey`` and ``ed25519key`` modules
  define on ``PKey``, ``RSAKey``, ``ECDSAKey``, ``Ed25519Key`` and ``PublicBlob`` exists here,
  with the same kind (method, property, staticmethod, classmethod, attribute) and the same
  parameter names, kinds and defaults (annotations differ by design: ours are typed).
* Differential checks load the same key files (written with ``cryptography``, so no OpenSSH is
  needed here) in both libraries and compare what paramiko's API shows.
"""

from __future__ import annotations

import base64
import inspect
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko
import paramiko.ecdsakey
import paramiko.ed25519key
import paramiko.pkey
import paramiko.rsakey
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from hypothesis import given, settings
from hypothesis import strategies as st

import sshwire.ecdsakey
import sshwire.ed25519key
import sshwire.pkey
import sshwire.rsakey
from sshwire.message import Message
from sshwire.ssh_exception import SSHException

PAIRS: list[tuple[str, type, type]] = [
    ("PKey", paramiko.pkey.PKey, sshwire.pkey.PKey),
    ("PublicBlob", paramiko.pkey.PublicBlob, sshwire.pkey.PublicBlob),
    ("RSAKey", paramiko.rsakey.RSAKey, sshwire.rsakey.RSAKey),
    ("ECDSAKey", paramiko.ecdsakey.ECDSAKey, sshwire.ecdsakey.ECDSAKey),
    ("Ed25519Key", paramiko.ed25519key.Ed25519Key, sshwire.ed25519key.Ed25519Key),
]
DUNDERS = {"__init__", "__repr__", "__str__", "__bytes__", "__eq__", "__ne__", "__hash__"}


def _public_members(cls: type) -> list[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name in vars(klass):
            if not name.startswith("_") or name in DUNDERS:
                names.add(name)
    return sorted(names)


def _member_cases() -> list[tuple[str, str]]:
    return [(label, name) for label, theirs, _ in PAIRS for name in _public_members(theirs)]


def _kind(cls: type, name: str) -> str:
    for klass in cls.__mro__:
        if name in vars(klass):
            raw = vars(klass)[name]
            break
    else:  # pragma: no cover
        raise AssertionError(name)
    if raw is None:
        return "none"
    if isinstance(raw, staticmethod):
        return "staticmethod"
    if isinstance(raw, classmethod):
        return "classmethod"
    if isinstance(raw, property):
        return "property"
    if inspect.isfunction(raw):
        return "method"
    return "attribute"


def _same_default(a: Any, b: Any) -> bool:
    if isinstance(a, ec.EllipticCurve) and isinstance(b, ec.EllipticCurve):
        return type(a) is type(b)
    return bool(a == b)


def _params(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(("label", "name"), _member_cases())
def test_member_exists_with_same_kind_and_signature(label: str, name: str) -> None:
    _, theirs, ours = next(p for p in PAIRS if p[0] == label)
    assert hasattr(ours, name) or name == "__hash__", f"{label}.{name} missing"
    kind = _kind(theirs, name)
    assert _kind(ours, name) == kind, f"{label}.{name}: {_kind(ours, name)} != {kind}"
    if kind in ("method", "staticmethod", "classmethod"):
        their_params = _params(getattr(theirs, name))
        our_params = _params(getattr(ours, name))
        assert [p[:2] for p in our_params] == [p[:2] for p in their_params]
        for (pname, _, mine), (_, _, other) in zip(our_params, their_params):
            assert _same_default(mine, other), f"{label}.{name}({pname}=...) default differs"


def test_class_attributes() -> None:
    assert sshwire.pkey.PKey.BEGIN_TAG.pattern == paramiko.pkey.PKey.BEGIN_TAG.pattern
    assert sshwire.pkey.PKey.END_TAG.pattern == paramiko.pkey.PKey.END_TAG.pattern
    assert sshwire.rsakey.RSAKey.name == paramiko.RSAKey.name == "ssh-rsa"
    assert sshwire.ed25519key.Ed25519Key.name == paramiko.Ed25519Key.name == "ssh-ed25519"
    assert sshwire.rsakey.RSAKey.HASHES == paramiko.RSAKey.HASHES
    assert not hasattr(sshwire.ecdsakey.ECDSAKey, "name")
    assert sshwire.pkey.PublicBlob.__hash__ is None


def test_module_level_names() -> None:
    for name in ("OPENSSH_AUTH_MAGIC", "PEM", "OPENSSH"):
        assert getattr(sshwire.pkey, name) == getattr(paramiko.pkey, name)
    assert sshwire.pkey.FileFormat._fields == paramiko.pkey.FileFormat._fields
    assert sshwire.pkey.PEM == paramiko.pkey.PEM
    assert sshwire.pkey.FileFormat(*paramiko.pkey.OPENSSH) == sshwire.pkey.OPENSSH
    assert (
        sshwire.pkey.PrivateKey
        == rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    )
    names = [c.__name__ for c in sshwire.pkey.key_classes]
    assert (
        names == [c.__name__ for c in paramiko.key_classes] == ["RSAKey", "Ed25519Key", "ECDSAKey"]
    )
    assert sshwire.pkey.key_classes is sshwire.pkey.key_classes


def test_identifiers() -> None:
    for label, theirs, ours in PAIRS[2:]:
        assert ours.identifiers() == theirs.identifiers(), label
    assert sshwire.ecdsakey.ECDSAKey.supported_key_format_identifiers() == (
        paramiko.ECDSAKey.supported_key_format_identifiers()
    )
    with pytest.raises(AttributeError):
        sshwire.pkey.PKey.identifiers()
    with pytest.raises(AttributeError):
        paramiko.PKey.identifiers()


def test_unknown_key_type() -> None:
    ours = sshwire.pkey.UnknownKeyType(key_type="ssh-dss", key_bytes=b"abc")
    theirs = paramiko.pkey.UnknownKeyType(key_type="ssh-dss", key_bytes=b"abc")
    assert str(ours) == str(theirs)
    assert ours.key_type == "ssh-dss" and ours.key_bytes == b"abc"
    assert type(ours).__mro__[1] is Exception
    assert _params(sshwire.pkey.UnknownKeyType.__init__) == _params(
        paramiko.pkey.UnknownKeyType.__init__
    )
    with pytest.raises(sshwire.pkey.UnknownKeyType):
        sshwire.pkey.PKey.from_type_string("ssh-dss", b"")


def test_base_pkey_behaves_like_paramiko() -> None:
    ours, theirs = sshwire.pkey.PKey(), paramiko.PKey()
    for attr in ("asbytes", "get_name", "get_bits", "can_sign", "get_fingerprint", "get_base64"):
        assert getattr(ours, attr)() == getattr(theirs, attr)(), attr
    assert ours.fingerprint == theirs.fingerprint
    assert ours.algorithm_name == theirs.algorithm_name
    assert repr(ours) == repr(theirs)
    assert ours.sign_ssh_data(b"x") == theirs.sign_ssh_data(b"x") == b""
    assert (
        ours.verify_ssh_sig(b"x", Message())
        is theirs.verify_ssh_sig(b"x", paramiko.Message())
        is False
    )
    with pytest.raises(NotImplementedError):
        hash(ours)


# --------------------------------------------------------------------------------------------
# Differential behaviour on the same key files


KEYS: dict[str, Callable[[], Any]] = {
    "rsa": lambda: rsa.generate_private_key(65537, 2048),
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}
CLASSES = {
    "rsa": ("RSAKey", "rsakey"),
    "p256": ("ECDSAKey", "ecdsakey"),
    "p384": ("ECDSAKey", "ecdsakey"),
    "p521": ("ECDSAKey", "ecdsakey"),
    "ed25519": ("Ed25519Key", "ed25519key"),
}


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name, make in KEYS.items():
        key = make()
        fmt = serialization.PrivateFormat.OpenSSH
        path = d / f"{name}_openssh"
        path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        )
        out[f"{name}-openssh"] = path
        if name != "ed25519":
            path = d / f"{name}_pem"
            pem = serialization.PrivateFormat.TraditionalOpenSSL
            path.write_bytes(
                key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption())
            )
            out[f"{name}-pem"] = path
    return out


def _classes(key_id: str) -> tuple[type, type]:
    cls_name, module = CLASSES[key_id.split("-")[0]]
    return getattr(getattr(sshwire, module), cls_name), getattr(getattr(paramiko, module), cls_name)


FILE_IDS = [f"{k}-openssh" for k in KEYS] + [f"{k}-pem" for k in KEYS if k != "ed25519"]


@pytest.mark.parametrize("file_id", FILE_IDS)
def test_same_file_same_face(key_files: dict[str, Path], file_id: str) -> None:
    ours_cls, theirs_cls = _classes(file_id)
    path = str(key_files[file_id])
    ours = ours_cls.from_private_key_file(path)
    theirs = theirs_cls.from_private_key_file(path)
    assert ours.get_base64() == theirs.get_base64()
    assert ours.get_fingerprint() == theirs.get_fingerprint()
    assert ours.fingerprint == theirs.fingerprint
    assert ours.get_bits() == theirs.get_bits()
    assert ours.asbytes() == theirs.asbytes() == bytes(ours)
    assert ours.get_name() == theirs.get_name()
    assert ours.algorithm_name == theirs.algorithm_name
    assert repr(ours) == repr(theirs)
    assert ours.can_sign() is theirs.can_sign() is True
    if file_id.startswith("rsa"):
        assert str(ours) == str(theirs)
        assert ours.size == theirs.size
        assert ours.public_numbers == theirs.public_numbers
        assert ours.private_key.private_numbers() == theirs.private_key.private_numbers()
    if file_id.startswith("p"):
        assert ours.private_key.private_numbers() == theirs.private_key.private_numbers()
        assert ours.verifying_key.public_numbers() == theirs.verifying_key.public_numbers()
        for attr in (
            "nist_name",
            "key_length",
            "key_format_identifier",
            "hash_object",
            "curve_class",
        ):
            assert getattr(ours.ecdsa_curve, attr) == getattr(theirs.ecdsa_curve, attr)
    # public-only objects from the blob, in both libraries
    ours_pub = ours_cls(data=theirs.asbytes())
    theirs_pub = theirs_cls(data=ours.asbytes())
    assert not ours_pub.can_sign() and not theirs_pub.can_sign()
    assert ours_pub.get_base64() == theirs_pub.get_base64()
    assert repr(ours_pub) == repr(theirs_pub)
    # equality and hashing ignore the private half, as paramiko's do
    assert ours == ours_pub and hash(ours) == hash(ours_pub)
    assert (ours_pub == theirs_pub) is False  # different libraries' keys never compare equal
    # from_type_string / from_path choose the same classes
    by_type = sshwire.pkey.PKey.from_type_string(ours.get_name(), ours.asbytes())
    assert (
        type(by_type).__name__
        == type(paramiko.PKey.from_type_string(ours.get_name(), ours.asbytes())).__name__
    )
    assert by_type == ours
    by_path = sshwire.pkey.PKey.from_path(path)
    assert type(by_path) is ours_cls and by_path == ours


@pytest.mark.parametrize("file_id", [f"{k}-openssh" for k in KEYS])
def test_signatures_cross_verify(key_files: dict[str, Path], file_id: str) -> None:
    ours_cls, theirs_cls = _classes(file_id)
    path = str(key_files[file_id])
    ours = ours_cls.from_private_key_file(path)
    theirs = theirs_cls.from_private_key_file(path)
    theirs_pub = theirs_cls(data=theirs.asbytes())
    algorithms: list[str | None] = [None]
    if file_id.startswith("rsa"):
        algorithms += ["rsa-sha2-256", "rsa-sha2-512", "rsa-sha2-256-cert-v01@openssh.com"]
    for alg in algorithms:
        ours_sig = ours.sign_ssh_data(b"payload", alg)
        their_sig = theirs.sign_ssh_data(b"payload", alg)
        # same algorithm name at the front of the signature blob
        assert (
            Message(ours_sig.asbytes()).get_text()
            == paramiko.Message(their_sig.asbytes()).get_text()
        )
        assert theirs_pub.verify_ssh_sig(b"payload", paramiko.Message(ours_sig.asbytes()))
        assert ours.verify_ssh_sig(b"payload", Message(their_sig.asbytes()))
        if file_id.startswith(("rsa", "ed25519")):  # deterministic signatures: same bytes
            assert ours_sig.asbytes() == their_sig.asbytes()


def test_rsa_sign_defaults_and_errors(key_files: dict[str, Path]) -> None:
    ours = sshwire.rsakey.RSAKey.from_private_key_file(str(key_files["rsa-openssh"]))
    assert Message(ours.sign_ssh_data(b"x").asbytes()).get_text() == "rsa-sha2-512"
    for bad in ("ssh-rsa", "nope"):
        with pytest.raises(KeyError):
            ours.sign_ssh_data(b"x", bad)
        with pytest.raises(KeyError):
            paramiko.RSAKey.from_private_key_file(str(key_files["rsa-openssh"])).sign_ssh_data(
                b"x", bad
            )
    public = sshwire.rsakey.RSAKey(data=ours.asbytes())
    with pytest.raises(SSHException):
        public.sign_ssh_data(b"x")


def test_verify_garbage_returns_false(key_files: dict[str, Path]) -> None:
    for file_id in (f"{k}-openssh" for k in KEYS):
        ours_cls, _ = _classes(file_id)
        key = ours_cls.from_private_key_file(str(key_files[file_id]))
        for junk in (
            b"",
            b"\x00\x00\x00\x05abc",
            b"\xff" * 40,
            Message().add_string("ssh-rsa").asbytes(),
        ):
            assert key.verify_ssh_sig(b"x", Message(junk)) is False


def test_write_private_key_matches_paramiko(key_files: dict[str, Path]) -> None:
    for file_id in FILE_IDS:
        if file_id.startswith("ed25519"):
            continue  # paramiko's Ed25519Key cannot write key files
        ours_cls, theirs_cls = _classes(file_id)
        path = str(key_files[file_id])
        for fmt in (sshwire.pkey.PEM, sshwire.pkey.OPENSSH):
            ours_out, theirs_out = io.StringIO(), io.StringIO()
            ours_cls.from_private_key_file(path).write_private_key(ours_out, file_format=fmt)
            theirs_cls.from_private_key_file(path).write_private_key(theirs_out, file_format=fmt)
            if fmt == sshwire.pkey.PEM:
                assert ours_out.getvalue() == theirs_out.getvalue()
            # each library reads the other's output
            assert theirs_cls.from_private_key(io.StringIO(ours_out.getvalue())).asbytes() == (
                ours_cls.from_private_key(io.StringIO(theirs_out.getvalue())).asbytes()
            )


def test_ed25519_extras(key_files: dict[str, Path]) -> None:
    key = sshwire.ed25519key.Ed25519Key.from_private_key_file(str(key_files["ed25519-openssh"]))
    pub = sshwire.ed25519key.Ed25519Key(data=key.asbytes())
    assert pub.can_verify() and not pub.can_sign()
    assert isinstance(pub.verifying_key, ed25519.Ed25519PublicKey)
    assert key.verifying_key is not None
    assert pub.verify_ssh_sig(b"m", Message(key.sign_ssh_data(b"m").asbytes()))
    # a key loaded from a private file verifies too (paramiko's raises AttributeError)
    assert key.verify_ssh_sig(b"m", Message(key.sign_ssh_data(b"m").asbytes()))
    with pytest.raises(ValueError, match="need a key"):
        sshwire.ed25519key.Ed25519Key()
    with pytest.raises(ValueError, match="need a key"):
        paramiko.Ed25519Key()
    out = io.StringIO()
    key.write_private_key(out)  # no PEM form for Ed25519: the OpenSSH format, like ssh-keygen
    assert out.getvalue().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (
        paramiko.Ed25519Key.from_private_key(io.StringIO(out.getvalue())).asbytes() == key.asbytes()
    )


# --------------------------------------------------------------------------------------------
# Error behaviour shared with paramiko


def _outcome(fn: Callable[[], Any]) -> tuple[str, str]:
    try:
        fn()
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


def test_constructor_errors_match(key_files: dict[str, Path]) -> None:
    ec_blob = sshwire.ecdsakey.ECDSAKey.from_private_key_file(
        str(key_files["p256-openssh"])
    ).asbytes()
    rsa_blob = sshwire.rsakey.RSAKey.from_private_key_file(str(key_files["rsa-openssh"])).asbytes()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("RSAKey", {}),
        ("RSAKey", {"data": ec_blob}),
        ("ECDSAKey", {"data": rsa_blob}),
        ("Ed25519Key", {"data": rsa_blob}),
        ("RSAKey", {"filename": str(key_files["p256-pem"])}),
        ("ECDSAKey", {"filename": str(key_files["rsa-pem"])}),
        ("Ed25519Key", {"filename": str(key_files["rsa-pem"])}),
    ]
    for cls_name, kwargs in cases:
        ours = getattr(sshwire, CLASSES_BY_NAME[cls_name])
        theirs = getattr(paramiko, CLASSES_BY_NAME[cls_name])
        assert _outcome(lambda: getattr(ours, cls_name)(**kwargs)) == _outcome(  # noqa: B023
            lambda: getattr(theirs, cls_name)(**kwargs)  # noqa: B023
        ), (cls_name, kwargs)


CLASSES_BY_NAME = {"RSAKey": "rsakey", "ECDSAKey": "ecdsakey", "Ed25519Key": "ed25519key"}


def test_empty_and_garbage_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    garbage = tmp_path / "garbage"
    garbage.write_text("hello\nworld\n")
    for cls_name, module in CLASSES_BY_NAME.items():
        ours = getattr(getattr(sshwire, module), cls_name)
        theirs = getattr(getattr(paramiko, module), cls_name)
        for path in (empty, garbage):
            assert _outcome(lambda: ours.from_private_key_file(str(path))) == _outcome(  # noqa: B023
                lambda: theirs.from_private_key_file(str(path))  # noqa: B023
            )


# --------------------------------------------------------------------------------------------
# PublicBlob and load_certificate


def test_public_blob(key_files: dict[str, Path], tmp_path: Path) -> None:
    key = sshwire.ed25519key.Ed25519Key.from_private_key_file(str(key_files["ed25519-openssh"]))
    line = f"ssh-ed25519 {key.get_base64()} my comment\n"
    ours = sshwire.pkey.PublicBlob.from_string(line)
    theirs = paramiko.pkey.PublicBlob.from_string(line)
    for attr in ("key_type", "key_blob", "comment"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert str(ours) == str(theirs)
    path = tmp_path / "k.pub"
    path.write_text(line)
    assert sshwire.pkey.PublicBlob.from_file(str(path)) == ours
    assert ours != sshwire.pkey.PublicBlob("ssh-ed25519", b"other")
    assert (ours == None) is False  # noqa: E711
    msg = Message(key.asbytes())
    assert sshwire.pkey.PublicBlob.from_message(msg).key_blob == key.asbytes()
    for bad in ("ssh-ed25519", f"ssh-rsa {key.get_base64()}"):
        assert _outcome(lambda: sshwire.pkey.PublicBlob.from_string(bad)) == _outcome(  # noqa: B023
            lambda: paramiko.pkey.PublicBlob.from_string(bad)  # noqa: B023
        )
    # load_certificate accepts the same things as paramiko (plus a PublicBlob)
    key.load_certificate(line)
    assert key.public_blob == ours
    key.load_certificate(str(path))
    assert key.public_blob == ours
    key.load_certificate(ours)
    assert key.public_blob is ours
    key.load_certificate(Message(key.asbytes()))
    assert key.public_blob.key_blob == key.asbytes()
    rsa_line = (
        "ssh-rsa "
        + sshwire.rsakey.RSAKey.from_private_key_file(str(key_files["rsa-openssh"])).get_base64()
    )
    with pytest.raises(ValueError, match="incompatible"):
        key.load_certificate(rsa_line)
    with pytest.raises(ValueError, match="incompatible"):
        paramiko.Ed25519Key.from_private_key_file(
            str(key_files["ed25519-openssh"])
        ).load_certificate(rsa_line)


def test_ecdsa_generate_and_vals() -> None:
    key = sshwire.ecdsakey.ECDSAKey.generate(bits=384)
    assert key.get_name() == "ecdsa-sha2-nistp384" and key.can_sign()
    assert sshwire.ecdsakey.ECDSAKey.generate().get_bits() == 256
    assert sshwire.ecdsakey.ECDSAKey.generate(curve=ec.SECP521R1()).get_bits() == 521
    with pytest.raises(ValueError, match="Unsupported key length: 123"):
        sshwire.ecdsakey.ECDSAKey.generate(bits=123)
    with pytest.raises(ValueError, match="Unsupported key length: 123"):
        paramiko.ECDSAKey.generate(bits=123)
    public_only = sshwire.ecdsakey.ECDSAKey(vals=(None, key.verifying_key))
    assert public_only == key and not public_only.can_sign()
    assert public_only.private_key is None and public_only.signing_key is None


def test_rsa_generate_and_key_argument() -> None:
    key = sshwire.rsakey.RSAKey.generate(1024)
    assert key.get_bits() == 1024 and key.can_sign()
    public = sshwire.rsakey.RSAKey(key=key.key.public_key())
    assert public == key and not public.can_sign() and public.private_key is None
    theirs = paramiko.RSAKey(key=key.private_key)
    assert theirs.asbytes() == key.asbytes()


def test_signature_message_cursor_is_at_the_end(key_files: dict[str, Path]) -> None:
    for file_id in (f"{k}-openssh" for k in KEYS):
        ours_cls, theirs_cls = _classes(file_id)
        ours = ours_cls.from_private_key_file(str(key_files[file_id])).sign_ssh_data(b"x")
        theirs = theirs_cls.from_private_key_file(str(key_files[file_id])).sign_ssh_data(b"x")
        assert ours.get_remainder() == theirs.get_remainder() == b""
        assert len(ours.get_so_far()) == len(ours.asbytes())


def test_public_only_keys_cannot_write_or_sign(key_files: dict[str, Path]) -> None:
    for file_id in (f"{k}-openssh" for k in KEYS):
        ours_cls, _ = _classes(file_id)
        public = ours_cls(data=ours_cls.from_private_key_file(str(key_files[file_id])).asbytes())
        with pytest.raises(SSHException):
            public.write_private_key(io.StringIO())
        with pytest.raises(SSHException):
            public.sign_ssh_data(b"x")
        assert public.private_key is None


def test_from_path_unknown_and_invalid(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import dsa

    dsa_path = tmp_path / "dsa"
    with warnings.catch_warnings():  # cryptography 51 deprecates DSA; the file is the point
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        dsa_key = dsa.generate_private_key(1024)
    dsa_path.write_bytes(
        dsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(sshwire.pkey.UnknownKeyType) as info:
        sshwire.pkey.PKey.from_path(dsa_path)
    assert info.value.key_bytes == dsa_path.read_bytes()
    with warnings.catch_warnings(), pytest.raises(paramiko.pkey.UnknownKeyType):
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # paramiko's loader
        paramiko.PKey.from_path(dsa_path)
    # a DSA file given to a key class is a type mismatch, not an unknown type
    with pytest.raises(SSHException, match="encountered DSA key, expected RSA key"):
        sshwire.rsakey.RSAKey.from_private_key_file(str(dsa_path))
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    with pytest.raises(SSHException):
        sshwire.pkey.PKey.from_path(garbage)


_HEADERS = [
    "",
    "-----BEGIN RSA PRIVATE KEY-----\n",
    "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\n",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
]


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from(_HEADERS),
    body=st.one_of(
        st.text(max_size=300), st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
    ),
    cls_name=st.sampled_from(sorted(CLASSES_BY_NAME)),
    password=st.sampled_from([None, "", "pw"]),
)
def test_garbage_key_files_raise_ssh_exception(
    header: str, body: str, cls_name: str, password: str | None
) -> None:
    cls = getattr(getattr(sshwire, CLASSES_BY_NAME[cls_name]), cls_name)
    text = header + body
    with pytest.raises(SSHException):
        cls.from_private_key(io.StringIO(text), password=password)
    with pytest.raises(SSHException):
        cls.from_private_key(io.BytesIO(text.encode("utf-8", "surrogatepass")), password=password)
