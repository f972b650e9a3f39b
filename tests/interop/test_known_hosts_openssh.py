"""known_hosts files written and read by OpenSSH's tools, against ``sshwire.hostkeys``.

* ``ssh-keygen -H`` hashes a file; :class:`~sshwire.hostkeys.HostKeys` (and paramiko, on the
  same file) must find every host in it.
* ``ssh-keygen -F host`` must find exactly the keys our ``lookup(host)`` finds, on plain files,
  on files hashed by ssh-keygen and on files written by our ``save()`` / ``hash_host()``.
* Host certificates made with ``ssh-keygen -s CA -h`` must pass ``check_certificate`` against a
  ``@cert-authority`` line, and fail for a wrong principal, an expired or future validity
  window, a user certificate, an unknown CA, and a ``@revoked`` CA or host key.
* Finally OpenSSH's own ``ssh`` and ``check_certificate`` must reach the same verdict on the
  test sshd's host certificate for the same known_hosts files.

Only ``ssh-keygen`` is needed for all but the last test; a missing ssh-keygen skips loudly, or
fails with ``SSHWIRE_REQUIRE_OPENSSH=1``.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko.hostkeys as phk
import pytest

from _openssh import (
    SshdServer,
    generate_key,
    run,
    sign_certificate,
    unavailable,
)
from sshwire.hostkeys import HostKeys
from sshwire.pkey import PKey

pytestmark = pytest.mark.interop


# --------------------------------------------------------------------------------------------
# Fixtures: ssh-keygen and keys made by it (RSA once per module: it is the slow one)


@pytest.fixture(scope="module")
def ssh_keygen() -> str:
    path = shutil.which("ssh-keygen")
    if path is None:
        unavailable(
            "ssh-keygen not found on PATH, the known_hosts interop tests need it "
            "(Debian: apt-get install openssh-client)"
        )
        raise AssertionError("unreachable")  # pragma: no cover
    return path


@dataclass(frozen=True)
class Key:
    """A key pair written by ssh-keygen."""

    path: Path  # private key
    pub_path: Path
    key_type: str
    b64: str

    @property
    def public_line(self) -> str:
        return f"{self.key_type} {self.b64}"

    def pkey(self) -> PKey:
        return PKey.from_type_string(self.key_type, base64.b64decode(self.b64))


def _make(ssh_keygen: str, directory: Path, name: str, key_type: str) -> Key:
    kf = generate_key(ssh_keygen, directory / name, key_type, comment=f"sshwire-{name}")
    wire_type, b64 = kf.public_line.split()
    return Key(kf.path, kf.pub_path, wire_type, b64)


@pytest.fixture(scope="module")
def keys(ssh_keygen: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    directory = tmp_path_factory.mktemp("known-hosts-keys")
    wanted = {
        "ed": "ed25519",
        "ed2": "ed25519",
        "ec": "ecdsa256",
        "ec384": "ecdsa384",
        "rsa": "rsa",
        "ca": "ed25519",
        "ca_ec": "ecdsa256",
        "other_ca": "ed25519",
    }
    return {name: _make(ssh_keygen, directory, name, t) for name, t in wanted.items()}


def _keygen_lines(ssh_keygen: str, known_hosts: Path, host: str) -> list[str]:
    """``ssh-keygen -F host -f file``: the known_hosts lines it prints (none: not found)."""
    res = subprocess.run(
        [ssh_keygen, "-F", host, "-f", str(known_hosts)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if res.returncode == 1 and not res.stdout.strip():
        return []
    assert res.returncode == 0, res.stderr
    return [ln for ln in res.stdout.splitlines() if ln.strip() and not ln.startswith("#")]


def _found_by_keygen(ssh_keygen: str, known_hosts: Path, host: str) -> set[tuple[str, str]]:
    """The (type, base64) pairs of the ordinary lines ``ssh-keygen -F host`` prints."""
    lines = _keygen_lines(ssh_keygen, known_hosts, host)
    return {(f[1], f[2]) for f in (ln.split() for ln in lines) if not f[0].startswith("@")}


def _found_by_us(hk: HostKeys, host: str) -> set[tuple[str, str]]:
    sub = hk.lookup(host)
    if sub is None:
        return set()
    return {(t, sub[t].get_base64()) for t in sub.keys()}  # noqa: SIM118 - keys() on purpose


def _found_by_paramiko(hk: phk.HostKeys, host: str) -> set[tuple[str, str]]:
    sub = hk.lookup(host)
    if sub is None:
        return set()
    return {(t, sub[t].get_base64()) for t in sub.keys()}  # noqa: SIM118 - keys() on purpose


# Host names used in the files below: literal, lower-case names only, since OpenSSH's pattern
# matching and case folding are beyond paramiko's (and so sshwire's) ordinary lookups.
HOSTS = [
    "h1.example",
    "10.1.2.3",
    "[h2.example]:2222",
    "h2.example",
    "h3.example",
    "[10.1.2.3]:2022",
    "unknown.example",
]


def _plain_file(path: Path, keys: dict[str, Key]) -> Path:
    ed, ed2, ec, ec384, rsa = keys["ed"], keys["ed2"], keys["ec"], keys["ec384"], keys["rsa"]
    path.write_text(
        "\n".join(
            [
                "# written by the test",
                f"h1.example,10.1.2.3 {ed.public_line}",
                f"h1.example {ec.public_line} a comment",
                f"[h2.example]:2222 {rsa.public_line}",
                f"h3.example,[10.1.2.3]:2022 {ed2.public_line}",
                f"h3.example {ec384.public_line}",
                "",
            ]
        )
    )
    return path


# --------------------------------------------------------------------------------------------
# ssh-keygen -H and -F


def test_file_hashed_by_ssh_keygen_loads_and_matches(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path
) -> None:
    plain = _plain_file(tmp_path / "plain", keys)
    hashed = _plain_file(tmp_path / "known_hosts", keys)
    run([ssh_keygen, "-H", "-f", str(hashed)])
    assert (tmp_path / "known_hosts.old").exists()
    text = hashed.read_text()
    assert "h1.example" not in text and "|1|" in text

    ours_plain = HostKeys(str(plain))
    ours = HostKeys(str(hashed))
    theirs = phk.HostKeys(str(hashed))
    # ssh-keygen -H writes one hashed line per host name
    assert len(ours) == len(theirs) == 7
    assert all(name.startswith("|1|") for name in ours)
    assert list(ours) == list(theirs)
    for host in HOSTS:
        expected = _found_by_us(ours_plain, host)
        assert _found_by_us(ours, host) == expected, host
        assert _found_by_paramiko(theirs, host) == expected, host
        for key in keys.values():
            pkey = key.pkey()
            assert ours.check(host, pkey) == ((key.key_type, key.b64) in expected), host
    # every hash that ssh-keygen wrote is reproduced by hash_host with its salt
    for name in ours:
        hosts = [h for h in HOSTS if HostKeys.hash_host(h, name) == name]
        assert len(hosts) == 1, name


@pytest.mark.parametrize("variant", ["plain", "hashed_by_ssh_keygen", "saved_and_hashed_by_us"])
def test_ssh_keygen_F_finds_what_lookup_finds(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path, variant: str
) -> None:
    path = _plain_file(tmp_path / "known_hosts", keys)
    if variant == "hashed_by_ssh_keygen":
        run([ssh_keygen, "-H", "-f", str(path)])
    elif variant == "saved_and_hashed_by_us":
        source = HostKeys(str(path))
        rewritten = HostKeys()
        for name in source:
            for key_type, key in source[name].items():
                rewritten.add(HostKeys.hash_host(name), key_type, key)
        rewritten.save(str(path))
        assert "h1.example" not in path.read_text()
    ours = HostKeys(str(path))
    for host in HOSTS:
        assert _found_by_keygen(ssh_keygen, path, host) == _found_by_us(ours, host), host


def test_saved_file_is_read_back_by_ssh_keygen(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path
) -> None:
    hk = HostKeys()
    hk.add("s1.example", keys["ed"].key_type, keys["ed"].pkey())
    hk.add("[s1.example]:2200", keys["ec"].key_type, keys["ec"].pkey())
    hk.add("s2.example", keys["rsa"].key_type, keys["rsa"].pkey())
    hk.add_cert_authority("*.example", keys["ca"].pkey())
    path = tmp_path / "saved"
    hk.save(str(path))
    for host in ("s1.example", "[s1.example]:2200", "s2.example", "s3.example"):
        assert _found_by_keygen(ssh_keygen, path, host) == _found_by_us(hk, host), host
        # OpenSSH reads our @cert-authority line, and its pattern matches where ours does
        markers = [ln for ln in _keygen_lines(ssh_keygen, path, host) if ln.startswith("@")]
        expected = [f"@cert-authority *.example {keys['ca'].public_line}"]
        assert markers == (expected if hk.cert_authorities(host) else []), host
    assert hk.cert_authorities("s3.example") == [keys["ca"].pkey()]
    assert hk.cert_authorities("[s1.example]:2200") == []


def test_wildcards_are_openssh_only(ssh_keygen: str, keys: dict[str, Key], tmp_path: Path) -> None:
    # A difference kept on purpose: ordinary lines match literally, as in paramiko.
    path = tmp_path / "known_hosts"
    path.write_text(f"*.wild {keys['ed'].public_line}\nCaSe.example {keys['ec'].public_line}\n")
    ours = HostKeys(str(path))
    theirs = phk.HostKeys(str(path))
    assert _found_by_keygen(ssh_keygen, path, "x.wild") == {(keys["ed"].key_type, keys["ed"].b64)}
    assert _found_by_us(ours, "x.wild") == _found_by_paramiko(theirs, "x.wild") == set()
    assert _found_by_us(ours, "*.wild") == _found_by_paramiko(theirs, "*.wild") != set()


# --------------------------------------------------------------------------------------------
# Host certificates


def _cert_blob(cert_path: Path) -> bytes:
    return base64.b64decode(cert_path.read_text().split()[1])


def _certify(
    ssh_keygen: str,
    ca: Key,
    subject: Key,
    tmp_path: Path,
    name: str,
    *,
    principals: tuple[str, ...] = ("127.0.0.1", "localhost"),
    host: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """Copy *subject*'s key pair to *name* and certify it there (``<name>-cert.pub``)."""
    dest = tmp_path / name
    shutil.copyfile(subject.path, dest)
    dest.chmod(0o600)
    pub = tmp_path / f"{name}.pub"
    shutil.copyfile(subject.pub_path, pub)
    cert = sign_certificate(
        ssh_keygen, ca.path, pub, principals, host=host, identity=f"id-{name}", extra_args=extra
    )
    assert cert.exists()
    return cert


def _known_hosts(path: Path, *lines: str) -> HostKeys:
    path.write_text("\n".join(lines) + "\n")
    return HostKeys(str(path))


@pytest.mark.parametrize("host_key", ["ed", "ec", "rsa"])
def test_host_certificate_validates(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path, host_key: str
) -> None:
    ca = keys["ca"]
    cert = _certify(ssh_keygen, ca, keys[host_key], tmp_path, "host_key")
    hk = _known_hosts(
        tmp_path / "known_hosts",
        f"@cert-authority 127.0.0.1,localhost,[127.0.0.1]:2222 {ca.public_line}",
        f"other.example {keys['ed2'].public_line}",
    )
    blob = _cert_blob(cert)
    assert hk.cert_authorities("127.0.0.1") == [ca.pkey()]
    assert hk.check_certificate("127.0.0.1", blob)
    assert hk.check_certificate("localhost", blob)
    assert hk.check_certificate("[127.0.0.1]:2222", blob)  # principal checked without the port
    assert hk.check_certificate("[127.0.0.1]:2200", blob)  # the CA line for the bare host
    # the key file with its -cert.pub next to it, loaded as a PKey
    with_cert = PKey.from_path(tmp_path / "host_key")
    assert with_cert.public_blob is not None
    assert hk.check_certificate("localhost", with_cert)
    assert not hk.check_certificate("localhost", keys[host_key].pkey())  # the bare key
    # ordinary lookups are untouched by the marker line
    assert list(hk) == ["other.example"]


def test_rsa_ca(ssh_keygen: str, keys: dict[str, Key], tmp_path: Path) -> None:
    ca = keys["rsa"]  # ssh-keygen signs with rsa-sha2-512
    cert = _certify(ssh_keygen, ca, keys["ec"], tmp_path, "host_key")
    hk = _known_hosts(tmp_path / "kh", f"@cert-authority * {ca.public_line}")
    assert hk.check_certificate("localhost", _cert_blob(cert))


def test_wrong_principal(ssh_keygen: str, keys: dict[str, Key], tmp_path: Path) -> None:
    ca = keys["ca"]
    cert = _certify(ssh_keygen, ca, keys["ed"], tmp_path, "host_key", principals=("other.example",))
    hk = _known_hosts(tmp_path / "kh", f"@cert-authority * {ca.public_line}")
    blob = _cert_blob(cert)
    assert not hk.check_certificate("127.0.0.1", blob)
    assert not hk.check_certificate("localhost", blob)
    assert hk.check_certificate("other.example", blob)
    assert hk.check_certificate("[other.example]:2222", blob)


@pytest.mark.parametrize(
    ("validity", "offset_inside"),
    [("-2d:-1d", -36 * 3600), ("+1d:+2d", 36 * 3600)],
    ids=["expired", "not-yet-valid"],
)
def test_validity_window(
    ssh_keygen: str,
    keys: dict[str, Key],
    tmp_path: Path,
    validity: str,
    offset_inside: int,
) -> None:
    ca = keys["ca"]
    cert = _certify(ssh_keygen, ca, keys["ed"], tmp_path, "host_key", extra=("-V", validity))
    hk = _known_hosts(tmp_path / "kh", f"@cert-authority * {ca.public_line}")
    blob = _cert_blob(cert)
    assert not hk.check_certificate("localhost", blob)
    assert hk.check_certificate("localhost", blob, now=time.time() + offset_inside)


def test_user_certificate_is_not_a_host_certificate(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path
) -> None:
    ca = keys["ca"]
    cert = _certify(ssh_keygen, ca, keys["ed"], tmp_path, "user_key", host=False)
    hk = _known_hosts(tmp_path / "kh", f"@cert-authority * {ca.public_line}")
    assert not hk.check_certificate("localhost", _cert_blob(cert))


def test_unknown_or_unlisted_ca(ssh_keygen: str, keys: dict[str, Key], tmp_path: Path) -> None:
    cert = _certify(ssh_keygen, keys["other_ca"], keys["ed"], tmp_path, "host_key")
    blob = _cert_blob(cert)
    hk = _known_hosts(
        tmp_path / "kh",
        f"@cert-authority * {keys['ca'].public_line}",
        f"@cert-authority *.example {keys['other_ca'].public_line}",
        # an ordinary line for the CA key does not make it a CA
        f"localhost {keys['other_ca'].public_line}",
    )
    assert not hk.check_certificate("localhost", blob)
    for_x = _certify(
        ssh_keygen, keys["other_ca"], keys["ed"], tmp_path, "host_key2", principals=("x.example",)
    )
    assert hk.check_certificate("x.example", _cert_blob(for_x))


def test_revoked_ca_and_revoked_host_key(
    ssh_keygen: str, keys: dict[str, Key], tmp_path: Path
) -> None:
    ca = keys["ca_ec"]
    cert = _certify(ssh_keygen, ca, keys["ed"], tmp_path, "host_key")
    blob = _cert_blob(cert)
    trusted = f"@cert-authority * {ca.public_line}"
    assert _known_hosts(tmp_path / "kh1", trusted).check_certificate("localhost", blob)

    revoked_ca = _known_hosts(tmp_path / "kh2", trusted, f"@revoked * {ca.public_line}")
    assert revoked_ca.is_revoked(ca.pkey())
    assert revoked_ca.is_revoked(blob)  # a certificate signed by a revoked CA
    assert not revoked_ca.check_certificate("localhost", blob)

    revoked_key = _known_hosts(tmp_path / "kh3", trusted, f"@revoked * {keys['ed'].public_line}")
    assert not revoked_key.check_certificate("localhost", blob)

    elsewhere = _known_hosts(tmp_path / "kh4", trusted, f"@revoked *.example {ca.public_line}")
    assert elsewhere.check_certificate("localhost", blob)
    assert elsewhere.is_revoked(ca.pkey(), "h.example")
    assert not elsewhere.is_revoked(ca.pkey(), "localhost")
    # paramiko 5.1 cannot read any of these files (a documented difference)
    with pytest.raises(phk.InvalidHostKey):
        phk.HostKeys(str(tmp_path / "kh2"))


# --------------------------------------------------------------------------------------------
# The same verdict as OpenSSH's ssh, on the test sshd's host certificate


def test_same_verdict_as_ssh_client(sshd: SshdServer, tmp_path: Path) -> None:
    ca_line = sshd.host_ca_public
    ed_line = sshd.host_public_keys["ssh-ed25519"]
    blob = _cert_blob(sshd.host_cert_path)
    name = sshd.known_hosts_name  # [127.0.0.1]:PORT, as ssh looks it up
    cases = {
        "ca-for-this-host": (name, [f"@cert-authority {name} {ca_line}"]),
        "ca-wildcard": (name, [f"@cert-authority * {ca_line}"]),
        "ca-for-another-host": (name, [f"@cert-authority other.example {ca_line}"]),
        # nothing for [127.0.0.1]:PORT, so ssh retries with the bare host
        "ca-negated-then-bare-host": (name, [f"@cert-authority *,!{name} {ca_line}"]),
        "ca-negated-both": (name, [f"@cert-authority *,!{name},!127.0.0.1 {ca_line}"]),
        "ca-for-bare-host": (name, [f"@cert-authority 127.0.0.1 {ca_line}"]),
        "revoked-for-bare-host-only": (
            name,
            [f"@cert-authority {name} {ca_line}", f"@revoked 127.0.0.1 {ca_line}"],
        ),
        "revoked-for-this-host": (
            name,
            [f"@cert-authority 127.0.0.1 {ca_line}", f"@revoked {name} {ed_line}"],
        ),
        "hashed-ca-line": (
            name,
            [f"@cert-authority {HostKeys.hash_host(name)} {ca_line}"],
        ),
        "ca-revoked": (name, [f"@cert-authority * {ca_line}", f"@revoked * {ca_line}"]),
        "key-revoked": (name, [f"@cert-authority * {ca_line}", f"@revoked * {ed_line}"]),
        # HostKeyAlias replaces the name for both the CA lines and the principal check
        "alias-principal": ("localhost", [f"@cert-authority * {ca_line}"]),
        "alias-not-a-principal": ("wrong.example", [f"@cert-authority * {ca_line}"]),
    }
    for case, (host, lines) in cases.items():
        path = tmp_path / f"kh-{case}"
        hk = _known_hosts(path, *lines)
        ours = hk.check_certificate(host, blob)
        options = ["-o", "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com"]
        if host != name:
            options += ["-o", f"HostKeyAlias={host}"]
        argv = [
            sshd.openssh.ssh,
            *sshd.ssh_args(known_hosts=path),
            *options,
            sshd.host,
            "true",
        ]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        theirs = res.returncode == 0
        assert ours == theirs, f"{case}: ssh exit {res.returncode}: {res.stderr.strip()}"
