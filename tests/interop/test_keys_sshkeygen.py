"""Private and public key files made by OpenSSH's ``ssh-keygen``, read and written by sshwire.

Every key type (Ed25519, ECDSA P-256/384/521, RSA 3072) in every format ``ssh-keygen``
writes for it (OpenSSH, PEM, PKCS#8; each plain and passphrase-protected) is generated once
per module, then:

* loaded by the right class and by ``PKey.from_path``; the public blob equals ``ssh-keygen -y``;
* signatures cross-verify with the real paramiko's key classes in both directions;
* ``write_private_key`` output is read back by ``ssh-keygen -y``;
* a missing passphrase raises ``PasswordRequiredException`` and a wrong one ``SSHException``,
  never revealing the passphrase.

Skips loudly without ``ssh-keygen``; fails instead when ``SSHWIRE_REQUIRE_OPENSSH=1``.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from sshwire.ecdsakey import ECDSAKey
from sshwire.ed25519key import Ed25519Key
from sshwire.message import Message
from sshwire.pkey import OPENSSH, PEM, PKey
from sshwire.rsakey import RSAKey
from sshwire.ssh_exception import PasswordRequiredException, SSHException

pytestmark = pytest.mark.interop

REQUIRE_ENV = "SSHWIRE_REQUIRE_OPENSSH"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
PASSPHRASE = "correct horse battery"
DATA = b"data to sign \x00\xff"

# short name -> (ssh-keygen -t, -b, wire type, our class, paramiko class)
TYPES: dict[str, tuple[str, str | None, str, type[PKey], type[paramiko.PKey]]] = {
    "ed25519": ("ed25519", None, "ssh-ed25519", Ed25519Key, paramiko.Ed25519Key),
    "ecdsa256": ("ecdsa", "256", "ecdsa-sha2-nistp256", ECDSAKey, paramiko.ECDSAKey),
    "ecdsa384": ("ecdsa", "384", "ecdsa-sha2-nistp384", ECDSAKey, paramiko.ECDSAKey),
    "ecdsa521": ("ecdsa", "521", "ecdsa-sha2-nistp521", ECDSAKey, paramiko.ECDSAKey),
    "rsa": ("rsa", "3072", "ssh-rsa", RSAKey, paramiko.RSAKey),
}
FORMATS = {"openssh": None, "pem": "PEM", "pkcs8": "PKCS8"}
HEADERS = {
    ("openssh", False): "-----BEGIN OPENSSH PRIVATE KEY-----",
    ("openssh", True): "-----BEGIN OPENSSH PRIVATE KEY-----",
    ("pem", False): "-----BEGIN {label} PRIVATE KEY-----",
    ("pem", True): "-----BEGIN {label} PRIVATE KEY-----",
    ("pkcs8", False): "-----BEGIN PRIVATE KEY-----",
    ("pkcs8", True): "-----BEGIN ENCRYPTED PRIVATE KEY-----",
}
# ssh-keygen writes Ed25519 keys in the OpenSSH format only (-m PEM/PKCS8 are ignored for it)
VARIANTS = [
    (t, f, enc)
    for t in TYPES
    for f in FORMATS
    for enc in (False, True)
    if not (t == "ed25519" and f != "openssh")
]


def variant_id(v: tuple[str, str, bool]) -> str:
    return f"{v[0]}-{v[1]}-{'encrypted' if v[2] else 'plain'}"


def require_ssh_keygen() -> str:
    if os.path.exists(SSH_KEYGEN) and os.access(SSH_KEYGEN, os.X_OK):
        return SSH_KEYGEN
    reason = f"ssh-keygen not found at {SSH_KEYGEN}; apt-get install openssh-client"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} [{REQUIRE_ENV}=1 is set, so this is a failure]", pytrace=False)
    pytest.skip(f"INTEROP SKIPPED: {reason} [set {REQUIRE_ENV}=1 to fail instead]")
    raise AssertionError("unreachable")


def run_keygen(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [require_ssh_keygen(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check:
        assert res.returncode == 0, f"ssh-keygen {args} failed: {res.stderr}"
    return res


def public_from_ssh_keygen(path: Path, passphrase: str | None = None) -> bytes:
    """The public blob ``ssh-keygen -y`` derives from a private key file."""
    out = run_keygen("-y", "-P", passphrase or "", "-f", path).stdout
    return base64.b64decode(out.split()[1])


@dataclass(frozen=True)
class KeyFile:
    name: str
    fmt: str
    encrypted: bool
    path: Path
    public_blob: bytes

    @property
    def passphrase(self) -> str | None:
        return PASSPHRASE if self.encrypted else None

    @property
    def cls(self) -> type[PKey]:
        return TYPES[self.name][3]

    @property
    def paramiko_cls(self) -> type[paramiko.PKey]:
        return TYPES[self.name][4]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, bool], KeyFile]:
    """Each type generated once, then rewritten by ``ssh-keygen -p`` into every variant."""
    require_ssh_keygen()
    d = tmp_path_factory.mktemp("sshkeygen")
    out: dict[tuple[str, str, bool], KeyFile] = {}
    for name, (kt, bits, _wire, _cls, _pcls) in TYPES.items():
        base = d / f"{name}-openssh-plain"
        args: list[str | Path] = ["-q", "-t", kt, "-N", "", "-C", f"sshwire {name}", "-f", base]
        if bits:
            args += ["-b", bits]
        run_keygen(*args)
        blob = base64.b64decode((d / f"{name}-openssh-plain.pub").read_text().split()[1])
        for fmt, m in FORMATS.items():
            for enc in (False, True):
                if (name, fmt, enc) not in VARIANTS:
                    continue
                path = d / variant_id((name, fmt, enc))
                if path != base:
                    shutil.copyfile(base, path)
                    path.chmod(0o600)
                    conv: list[str | Path] = [
                        "-q",
                        "-p",
                        "-P",
                        "",
                        "-N",
                        PASSPHRASE if enc else "",
                        "-f",
                        path,
                    ]
                    if m:
                        conv += ["-m", m]
                    run_keygen(*conv)
                label = {"rsa": "RSA"}.get(name, "EC")
                header = HEADERS[(fmt, enc)].format(label=label)
                assert path.read_text().splitlines()[0] == header, (path, header)
                out[(name, fmt, enc)] = KeyFile(name, fmt, enc, path, blob)
    return out


@pytest.fixture(params=VARIANTS, ids=variant_id)
def key_file(request: pytest.FixtureRequest, keys: dict[tuple[str, str, bool], KeyFile]) -> KeyFile:
    return keys[request.param]


@pytest.fixture(params=[v for v in VARIANTS if v[2]], ids=variant_id)
def encrypted_file(
    request: pytest.FixtureRequest, keys: dict[tuple[str, str, bool], KeyFile]
) -> KeyFile:
    return keys[request.param]


# --------------------------------------------------------------------------------------------
# Loading


def test_load_with_class(key_file: KeyFile) -> None:
    key = key_file.cls.from_private_key_file(str(key_file.path), password=key_file.passphrase)
    assert key.can_sign()
    assert key.asbytes() == key_file.public_blob
    assert key.asbytes() == public_from_ssh_keygen(key_file.path, key_file.passphrase)
    assert key.get_name() == TYPES[key_file.name][2]
    expected_bits = {"ed25519": 256, "ecdsa256": 256, "ecdsa384": 384, "ecdsa521": 521, "rsa": 3072}
    assert key.get_bits() == expected_bits[key_file.name]


def test_load_from_file_object(key_file: KeyFile) -> None:
    with open(key_file.path) as text:
        a = key_file.cls.from_private_key(text, password=key_file.passphrase)
    with open(key_file.path, "rb") as binary:
        b = key_file.cls.from_private_key(binary, password=key_file.passphrase)
    assert a == b and a.asbytes() == key_file.public_blob


def test_from_path_picks_the_class(key_file: KeyFile) -> None:
    key = PKey.from_path(key_file.path, password=key_file.passphrase)
    assert type(key) is key_file.cls
    assert key.asbytes() == key_file.public_blob
    # bytes passphrases work too
    if key_file.encrypted:
        again = PKey.from_path(str(key_file.path), password=PASSPHRASE.encode())
        assert again == key


def test_missing_passphrase(encrypted_file: KeyFile) -> None:
    kf = encrypted_file
    for password in (None, ""):
        with pytest.raises(
            PasswordRequiredException if password is None or kf.fmt == "openssh" else SSHException
        ):
            kf.cls.from_private_key_file(str(kf.path), password=password)
    with pytest.raises(PasswordRequiredException):
        PKey.from_path(kf.path)
    # every class says so, as with paramiko (SSHClient relies on it when it tries each class)
    for cls in (RSAKey, ECDSAKey, Ed25519Key):
        if kf.fmt != "pem" or cls is kf.cls:
            with pytest.raises(PasswordRequiredException):
                cls.from_private_key_file(str(kf.path))


def test_wrong_passphrase(encrypted_file: KeyFile) -> None:
    key_file = encrypted_file
    wrong = "definitely-not-the-passphrase"
    with pytest.raises(SSHException) as info:
        key_file.cls.from_private_key_file(str(key_file.path), password=wrong)
    assert not isinstance(info.value, PasswordRequiredException)
    text = str(info.value)
    assert wrong not in text and PASSPHRASE not in text
    assert "password" in text.lower() or "checkints" in text or "Invalid key" in text
    with pytest.raises(SSHException):
        PKey.from_path(key_file.path, password=wrong)


def test_wrong_class_is_an_ssh_exception(key_file: KeyFile) -> None:
    for cls in (RSAKey, ECDSAKey, Ed25519Key):
        if cls is key_file.cls:
            continue
        with pytest.raises(SSHException):
            cls.from_private_key_file(str(key_file.path), password=key_file.passphrase)


def test_passphrase_errors_match_paramiko(keys: dict[tuple[str, str, bool], KeyFile]) -> None:
    """Where paramiko reads the format itself, the exception type and text are the same."""
    for (name, fmt, enc), kf in keys.items():
        if not enc or fmt == "pkcs8":  # paramiko cannot read PKCS#8 files at all
            continue
        for password in (None, "wrong-passphrase"):
            ours = _outcome(lambda: kf.cls.from_private_key_file(str(kf.path), password))  # noqa: B023
            theirs = _outcome(lambda: kf.paramiko_cls.from_private_key_file(str(kf.path), password))  # noqa: B023
            if fmt == "pem" and password is not None:
                # a wrong passphrase decrypts PEM to random bytes: paramiko's message depends on
                # which check those bytes happen to fail; ours is always the same
                assert ours[0] == theirs[0], (name, fmt, password)
                assert ours[1] in ("Bad password or corrupt private key file", theirs[1])
                continue
            assert ours == theirs, (name, fmt, password)


def _outcome(fn: object) -> tuple[str, str]:
    try:
        fn()  # type: ignore[operator]
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


# --------------------------------------------------------------------------------------------
# Signatures against paramiko


def _paramiko_public(kf: KeyFile) -> paramiko.PKey:
    return kf.paramiko_cls(data=kf.public_blob)


def _algorithms(kf: KeyFile) -> list[str | None]:
    return ["rsa-sha2-512", "rsa-sha2-256", None] if kf.name == "rsa" else [None]


def test_our_signatures_verify_in_paramiko(key_file: KeyFile) -> None:
    ours = key_file.cls.from_private_key_file(str(key_file.path), password=key_file.passphrase)
    theirs = _paramiko_public(key_file)
    for alg in _algorithms(key_file):
        sig = ours.sign_ssh_data(DATA, alg)
        assert isinstance(sig, Message)
        assert theirs.verify_ssh_sig(DATA, paramiko.Message(sig.asbytes()))
        assert not theirs.verify_ssh_sig(DATA + b"!", paramiko.Message(sig.asbytes()))


def test_paramiko_signatures_verify_here(keys: dict[tuple[str, str, bool], KeyFile]) -> None:
    for name in TYPES:
        kf = keys[(name, "openssh", False)]
        theirs = kf.paramiko_cls.from_private_key_file(str(kf.path))
        ours_public = kf.cls(data=kf.public_blob)  # type: ignore[call-arg]
        ours_private = kf.cls.from_private_key_file(str(kf.path))
        for alg in _algorithms(kf):
            sig = theirs.sign_ssh_data(DATA, alg)
            for ours in (ours_public, ours_private):
                assert ours.verify_ssh_sig(DATA, Message(sig.asbytes()))
                assert not ours.verify_ssh_sig(b"other data", Message(sig.asbytes()))


# --------------------------------------------------------------------------------------------
# Writing: ssh-keygen must read what we write


@pytest.mark.parametrize("name", list(TYPES))
@pytest.mark.parametrize("file_format", ["pem", "openssh"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_written_keys_load_in_ssh_keygen(
    keys: dict[tuple[str, str, bool], KeyFile],
    tmp_path: Path,
    name: str,
    file_format: str,
    encrypted: bool,
) -> None:
    kf = keys[(name, "openssh", False)]
    key = kf.cls.from_private_key_file(str(kf.path))
    out = tmp_path / "written"
    password = "written-passphrase" if encrypted else None
    key.write_private_key_file(
        str(out), password=password, file_format=PEM if file_format == "pem" else OPENSSH
    )
    assert out.stat().st_mode & 0o777 == 0o600
    first = out.read_text().splitlines()[0]
    if file_format == "openssh" or name == "ed25519":
        assert first == "-----BEGIN OPENSSH PRIVATE KEY-----"
    else:
        assert first == f"-----BEGIN {'RSA' if name == 'rsa' else 'EC'} PRIVATE KEY-----"
    assert public_from_ssh_keygen(out, password) == kf.public_blob
    if encrypted:
        assert run_keygen("-y", "-P", "wrong", "-f", out, check=False).returncode != 0
    # and we read it back
    again = kf.cls.from_private_key_file(str(out), password=password)
    assert again == key and again.can_sign()


def test_write_to_file_objects(keys: dict[tuple[str, str, bool], KeyFile]) -> None:
    kf = keys[("ecdsa256", "openssh", False)]
    key = ECDSAKey.from_private_key_file(str(kf.path))
    text = io.StringIO()
    key.write_private_key(text)
    assert text.getvalue().startswith("-----BEGIN EC PRIVATE KEY-----")
    binary = io.BytesIO()
    key.write_private_key(binary, file_format=OPENSSH)
    assert binary.getvalue().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert ECDSAKey.from_private_key(io.StringIO(text.getvalue())) == key


# --------------------------------------------------------------------------------------------
# Certificates made by ssh-keygen -s


def test_from_path_loads_the_certificate(
    keys: dict[tuple[str, str, bool], KeyFile], tmp_path: Path
) -> None:
    ca = tmp_path / "ca"
    run_keygen("-q", "-t", "ed25519", "-N", "", "-f", ca)
    for name in TYPES:
        kf = keys[(name, "openssh", False)]
        key_path = tmp_path / name
        shutil.copyfile(kf.path, key_path)
        key_path.chmod(0o600)
        shutil.copyfile(kf.path.with_name(kf.path.name + ".pub"), tmp_path / f"{name}.pub")
        run_keygen("-q", "-s", ca, "-I", f"cert-{name}", "-n", "alice", tmp_path / f"{name}.pub")
        cert_path = tmp_path / f"{name}-cert.pub"
        for given in (key_path, cert_path):
            key = PKey.from_path(given)
            assert key.public_blob is not None
            assert key.public_blob.key_type == TYPES[name][2] + "-cert-v01@openssh.com"
            assert key.public_blob.key_blob == base64.b64decode(cert_path.read_text().split()[1])
            core = key._proto_private()
            assert core.public.cert is not None and core.public.cert.key_id == f"cert-{name}"
            assert core.public.cert.cert_signature_valid()
        # paramiko agrees on the certificate blob
        theirs = paramiko.PKey.from_path(key_path)
        assert theirs.public_blob.key_blob == key.public_blob.key_blob
        # a key object built from the certificate blob itself, in both libraries
        cert_blob = key.public_blob.key_blob
        ours_pub = kf.cls(data=cert_blob)  # type: ignore[call-arg]
        theirs_pub = kf.paramiko_cls(data=cert_blob)
        assert ours_pub.get_name() == theirs_pub.get_name()
        assert ours_pub.asbytes() == theirs_pub.asbytes() == kf.public_blob
        assert ours_pub.fingerprint == theirs_pub.fingerprint
        assert ours_pub.public_blob is not None
        assert ours_pub.public_blob.key_type == theirs_pub.public_blob.key_type
        assert ours_pub.public_blob.key_blob == theirs_pub.public_blob.key_blob
        # the core's view and back
        core_pub = ours_pub._proto_public()
        assert core_pub.blob == cert_blob and core_pub.cert is not None
        back = PKey._from_proto(core_pub)
        assert type(back) is kf.cls and back == ours_pub
        assert back.public_blob is not None and back.public_blob.key_blob == cert_blob
        # signing through the core with the certificate algorithm verifies against the cert
        core_priv = key._proto_private()
        for alg in core_priv.algorithms:
            if alg.startswith("ssh-rsa"):
                continue
            assert core_pub.verify(alg, core_priv.sign(alg, DATA), DATA)
        # a certificate for another key is refused when the core asks for the signing key
        other_name = "ecdsa256" if name != "ecdsa256" else "ed25519"
        other = keys[(other_name, "openssh", False)].cls.from_private_key_file(
            str(keys[(other_name, "openssh", False)].path)
        )
        other.public_blob = key.public_blob
        with pytest.raises(SSHException):
            other._proto_private()
