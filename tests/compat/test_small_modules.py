"""Differential tests for paramiko's small modules as sshwire has them: ``compress``,
``primes``, ``ber``, ``packet`` (Packetizer) and the ``kex_*`` classes' attributes and error
handling.

Each scenario runs against paramiko 5.1 as the independent implementation: data formats (zlib
streams, moduli files, BER) are produced by one library and consumed by the other, or both
consume the same input and must agree; sshwire's ``Packetizer`` talks to paramiko's over
``socket.socketpair()`` in both directions, with cipher state handed over in paramiko's own
form. The same adapters against live peers (paramiko's ``Transport`` running sshwire's
Packetizer and kex classes against sshd, the auth handlers) are in
``tests/interop/test_adapters_peers.py``.
"""

from __future__ import annotations

import hashlib
import os
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import paramiko.ber
import paramiko.compress
import paramiko.kex_curve25519
import paramiko.kex_ecdh_nist
import paramiko.kex_gex
import paramiko.kex_group14
import paramiko.kex_group16
import paramiko.kex_mlkem
import paramiko.packet
import paramiko.primes
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher

import sshwire
import sshwire._serving
import sshwire.ber
import sshwire.compress
import sshwire.kex_curve25519
import sshwire.kex_ecdh_nist
import sshwire.kex_gex
import sshwire.kex_group14
import sshwire.kex_group16
import sshwire.kex_mlkem
import sshwire.packet
import sshwire.primes
from sshwire._proto.kex.groups import modp_prime
from sshwire.ssh_exception import SSHException

pytestmark = pytest.mark.timeout(60)

# ============================================================================ compress

PAYLOADS = [
    b"\x5e" + b"abcdefgh" * 500,
    b"\x02",
    b"\x14" + bytes(range(256)) * 4,
    b"\x5e" + os.urandom(3000),
    b"\x5e" + b"abcdefgh" * 500,  # repeats the first: the dictionary carries over
]


def test_compressor_output_inflates_with_paramiko() -> None:
    ours, theirs = sshwire.compress.ZlibCompressor(), paramiko.compress.ZlibDecompressor()
    sizes = []
    for payload in PAYLOADS:
        packet = ours(payload)
        sizes.append(len(packet))
        assert theirs(packet) == payload
    assert sizes[-1] < sizes[0], "the stream does not carry its dictionary across packets"


def test_decompressor_inflates_paramiko_output() -> None:
    theirs, ours = paramiko.compress.ZlibCompressor(), sshwire.compress.ZlibDecompressor()
    for payload in PAYLOADS:
        assert ours(theirs(payload)) == payload


def test_decompressor_refuses_corrupt_input_and_bombs() -> None:
    with pytest.raises(SSHException):
        sshwire.compress.ZlibDecompressor()(b"\x00 certainly not zlib")
    bomb = zlib.compressobj()
    data = bomb.compress(bytes(4 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(data) < 8192
    with pytest.raises(SSHException):
        sshwire.compress.ZlibDecompressor()(data)


# ============================================================================ primes

MODULI_HEADER = (
    "#    $OpenBSD: moduli,v 1.33 test $\n# Time Type Tests Tries Size Generator Modulus\n"
)


def _moduli_line(bits: int, kind: int = 2, tests: int = 6, tries: int = 100, size: int = -1,
                 generator: int = 2, prime: int | None = None) -> str:  # fmt: skip
    p = modp_prime(bits) if prime is None else prime
    stated = bits - 1 if size < 0 else size
    return f"20240101000000 {kind} {tests} {tries} {stated} {generator} {p:X}\n"


def _moduli_text() -> str:
    lines = [MODULI_HEADER, "\n"]
    for bits in (1024, 2048, 3072, 4096, 6144, 8192):
        lines.append(_moduli_line(bits))
    lines += [
        _moduli_line(2048, generator=0),  # generator 0 means 2
        _moduli_line(3072, generator=5),
        _moduli_line(2048, kind=1),  # not a safe prime
        _moduli_line(2048, tests=2),  # only sieved
        _moduli_line(4096, tests=4, tries=50),  # too few Miller-Rabin rounds
        _moduli_line(4096, tests=12, tries=50),  # a stronger test makes up for it
        _moduli_line(2048, size=2048),  # the exact length is accepted too
        _moduli_line(2048, size=3000),  # a wrong length
        "20240101000000 2 6 100 2047 2\n",  # a field missing
        "20240101000000 2 6 100 2047 2 NOTHEX\n",
        "   # an indented comment\n",
    ]
    return "".join(lines)


@pytest.fixture
def moduli_file(tmp_path: Path) -> Path:
    path = tmp_path / "moduli"
    path.write_text(_moduli_text())
    return path


def _read_both(path: Path) -> tuple[sshwire.primes.ModulusPack, paramiko.primes.ModulusPack]:
    ours, theirs = sshwire.primes.ModulusPack(), paramiko.primes.ModulusPack()
    ours.read_file(str(path))
    theirs.read_file(str(path))
    return ours, theirs


def test_modulus_pack_parses_like_paramiko(moduli_file: Path) -> None:
    ours, theirs = _read_both(moduli_file)
    assert ours.pack == theirs.pack
    assert ours.discarded == theirs.discarded
    assert sorted(ours.pack) == [1024, 2048, 3072, 4096, 6144, 8192]
    assert (2, modp_prime(2048)) in ours.pack[2048]  # generator 0 became 2
    assert len(ours.discarded) == 4


def test_modulus_pack_reads_the_system_moduli_file_like_paramiko() -> None:
    path = Path("/etc/ssh/moduli")
    if not path.exists():
        pytest.skip("/etc/ssh/moduli is missing (Debian's openssh-server ships it)")
    ours, theirs = _read_both(path)
    assert ours.pack == theirs.pack and ours.discarded == theirs.discarded
    assert ours.pack


REQUESTS = [
    (1024, 2048, 8192), (2048, 2048, 8192), (2048, 3000, 8192), (2048, 4096, 4096),
    (3072, 8192, 8192), (1024, 1024, 1024), (512, 768, 900), (9000, 9500, 10000),
    (2048, 9000, 9000), (4000, 5000, 6000), (6144, 1024, 8192), (2049, 2049, 3071),
]  # fmt: skip


@pytest.mark.parametrize(("minimum", "prefer", "maximum"), REQUESTS)
def test_get_modulus_chooses_the_size_paramiko_chooses(
    moduli_file: Path, minimum: int, prefer: int, maximum: int
) -> None:
    ours, theirs = _read_both(moduli_file)
    g, p = ours.get_modulus(minimum, prefer, maximum)
    _, tp = theirs.get_modulus(minimum, prefer, maximum)
    assert p.bit_length() == tp.bit_length()
    assert (g, p) in ours.pack[p.bit_length()]


def test_get_modulus_without_moduli() -> None:
    with pytest.raises(paramiko.SSHException, match="no moduli"):
        paramiko.primes.ModulusPack().get_modulus(2048, 2048, 8192)
    with pytest.raises(SSHException, match="no moduli"):
        sshwire.primes.ModulusPack().get_modulus(2048, 2048, 8192)


def test_read_file_missing_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        sshwire.primes.ModulusPack().read_file(str(tmp_path / "absent"))


def test_load_server_moduli_uses_the_modulus_pack(moduli_file: Path) -> None:
    saved = dict(sshwire._serving._MODULI)
    try:
        assert sshwire.Transport.load_server_moduli(str(moduli_file)) is True
        ours, _ = _read_both(moduli_file)
        expected = {bits: groups for bits, groups in ours.pack.items() if bits >= 2048}
        assert expected == sshwire._serving._MODULI
    finally:
        sshwire._serving._MODULI.clear()
        sshwire._serving._MODULI.update(saved)


# ============================================================================ ber

BER_VALUES: list[Any] = [
    0, 1, 127, 128, 255, 256, -1, -128, -129, 2**64, -(2**70), 2**1024 + 12345,
    True, False,
    [1, 2, 3], (4, [5, (6, -7)], []), [],
    [2**2048 - 1] * 3,  # long-form lengths
    [0] * 200,  # a sequence body over 127 bytes
]  # fmt: skip


@pytest.mark.parametrize("value", BER_VALUES, ids=lambda v: repr(v)[:30])
def test_ber_encoding_matches_paramiko(value: Any) -> None:
    ours, theirs = sshwire.ber.BER(), paramiko.ber.BER()
    ours.encode(value)
    theirs.encode(value)
    assert ours.asbytes() == theirs.asbytes()


def _as_lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_as_lists(v) for v in value]
    return value


@pytest.mark.parametrize(
    "value", [v for v in BER_VALUES if not isinstance(v, bool)], ids=lambda v: repr(v)[:30]
)
def test_ber_decoding_matches_paramiko(value: Any) -> None:
    ber = paramiko.ber.BER()
    ber.encode(value)
    data = ber.asbytes()
    ours = sshwire.ber.BER(data).decode()
    assert ours == paramiko.ber.BER(data).decode()
    assert ours == _as_lists(value)


def test_ber_decodes_a_real_pkcs1_rsa_key_like_paramiko() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    ours = sshwire.ber.BER(der).decode()
    assert ours == paramiko.ber.BER(der).decode()
    numbers = key.private_numbers()
    assert ours == [
        0,
        numbers.public_numbers.n,
        numbers.public_numbers.e,
        numbers.d,
        numbers.p,
        numbers.q,
        numbers.dmp1,
        numbers.dmq1,
        numbers.iqmp,
    ]
    assert sshwire.ber.BER.decode_sequence(der[4:]) == ours


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x05\x02\x01", b"\x02\x84\x00\x00", b"\x1f\x81", b"\x02\x82\x01"],
    ids=["empty", "no-length", "short-body", "short-long-length", "high-tag", "long-form"],
)
def test_ber_truncated_input_gives_none(data: bytes) -> None:
    assert paramiko.ber.BER(data).decode() is None
    assert sshwire.ber.BER(data).decode() is None


def test_ber_errors() -> None:
    with pytest.raises(paramiko.ber.BERException):
        paramiko.ber.BER(b"\x04\x01a").decode()
    with pytest.raises(sshwire.ber.BERException, match="type 4"):
        sshwire.ber.BER(b"\x04\x01a").decode()
    with pytest.raises(sshwire.ber.BERException):
        sshwire.ber.BER().encode(1.5)
    # hostile nesting: an error, not a RecursionError
    nested = b""
    for _ in range(300):
        nested = b"\x30\x84" + len(nested).to_bytes(4, "big") + nested
    with pytest.raises(sshwire.ber.BERException, match="nested"):
        sshwire.ber.BER(nested).decode()


def test_ber_encodes_text_as_utf8_octet_string() -> None:
    ber = sshwire.ber.BER()
    ber.encode(["é"])
    assert ber.asbytes() == b"\x30\x04\x04\x02\xc3\xa9"
    assert repr(ber) == "BER(b'0\\x04\\x04\\x02\\xc3\\xa9')"


# ============================================================================ packet

KEY = hashlib.sha512(b"sshwire small modules: key").digest()
IV = hashlib.sha256(b"sshwire small modules: iv").digest()
MAC_KEY = hashlib.sha512(b"sshwire small modules: mac").digest()

PACKETS = [
    b"\x14" + bytes(range(200)),
    b"\x02",
    b"\x5e" + b"\x00\x00\x00\x00\x00\x00\x80\x00" + bytes(range(256)) * 128,
    b"\x5e" + b"y" * 14,
    b"\x5e" + b"z" * 15,
    b"\x5e" + b"q" * 16,
    b"\x15",
]

CIPHER_MACS = [
    (c, None) if paramiko.Transport._cipher_info[c].get("is_aead") else (c, m)
    for c in paramiko.Transport._cipher_info
    for m in ("hmac-sha2-256", "hmac-sha2-512-etm@openssh.com", "hmac-sha1-96", "hmac-md5")
    if not (paramiko.Transport._cipher_info[c].get("is_aead") and m != "hmac-sha2-256")
]


def _combo_id(combo: tuple[str, str | None]) -> str:
    return combo[0] if combo[1] is None else f"{combo[0]}+{combo[1]}"


def _cipher_args(cipher: str, mac: str | None, encrypt: bool) -> dict[str, Any]:
    """Cipher state exactly as paramiko's Transport._activate_outbound/_inbound hand it over."""
    info = paramiko.Transport._cipher_info[cipher]
    block_size = info["block-size"]
    key = KEY[: info["key-size"]]
    iv = IV[: info.get("iv-size", block_size)]
    if info.get("is_aead"):
        return {
            "block_engine": info["class"](key),
            "block_size": block_size,
            "mac_engine": None,
            "mac_size": 16,
            "mac_key": None,
            "etm": False,
            "aead": True,
            "iv_out" if encrypt else "iv_in": iv,
        }
    assert mac is not None
    engine = Cipher(info["class"](key), info["mode"](iv))
    mac_info = paramiko.Transport._mac_info[mac]
    args: dict[str, Any] = {
        "block_engine": engine.encryptor() if encrypt else engine.decryptor(),
        "block_size": block_size,
        "mac_engine": mac_info["class"],
        "mac_size": mac_info["size"],
        "mac_key": MAC_KEY[: mac_info["class"]().digest_size],
        "etm": "etm@openssh.com" in mac,
        "aead": False,
    }
    if encrypt:
        args["sdctr"] = cipher.endswith("-ctr")
    return args


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "zlib"])
@pytest.mark.parametrize("combo", CIPHER_MACS, ids=_combo_id)
def test_packetizer_talks_to_paramikos_both_ways(
    combo: tuple[str, str | None],
    compress: bool,
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    cipher, mac = combo
    a, b = socket_pair
    ours, theirs = sshwire.packet.Packetizer(a), paramiko.packet.Packetizer(b)
    # cleartext first (as before the first NEWKEYS), then the keys
    ours.send_message(sshwire.Message(b"\x14cleartext kexinit"))
    assert theirs.read_message()[0] == 20
    theirs.send_message(paramiko.Message(b"\x15"))
    assert ours.read_message()[0] == 21
    ours.set_outbound_cipher(**_cipher_args(cipher, mac, encrypt=True))
    theirs.set_inbound_cipher(**_cipher_args(cipher, mac, encrypt=False))
    theirs.set_outbound_cipher(**_cipher_args(cipher, mac, encrypt=True))
    ours.set_inbound_cipher(**_cipher_args(cipher, mac, encrypt=False))
    if compress:  # each side's compressor against the other's decompressor
        ours.set_outbound_compressor(sshwire.compress.ZlibCompressor())
        theirs.set_inbound_compressor(paramiko.compress.ZlibDecompressor())
        theirs.set_outbound_compressor(paramiko.compress.ZlibCompressor())
        ours.set_inbound_compressor(sshwire.compress.ZlibDecompressor())
    assert ours.get_mac_size_out() == theirs.get_mac_size_out()
    assert ours.get_mac_size_in() == theirs.get_mac_size_in()
    for i, payload in enumerate(PACKETS):
        ours.send_message(sshwire.Message(payload))
        cmd, m = theirs.read_message()
        assert bytes([cmd]) + m.asbytes() == payload, f"ours -> paramiko, packet {i}"
        assert m.seqno == i + 1
        theirs.send_message(paramiko.Message(payload))
        cmd, m2 = ours.read_message()
        assert bytes([cmd]) + m2.asbytes() == payload, f"paramiko -> ours, packet {i}"
        assert isinstance(m2, sshwire.Message) and m2.seqno == i + 1  # type: ignore[attr-defined]
    # strict kex: both restart their sequence numbers; the MACs must still agree
    ours.reset_seqno_out()
    theirs.reset_seqno_in()
    ours.send_message(sshwire.Message(b"\x02after reset"))
    cmd, m = theirs.read_message()
    assert (cmd, m.asbytes(), m.seqno) == (2, b"after reset", 0)


@pytest.mark.parametrize(
    "combo",
    [
        ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
        ("aes128-ctr", "hmac-sha2-256"),
        ("aes128-gcm@openssh.com", None),
    ],
    ids=_combo_id,
)
def test_packetizer_rejects_a_tampered_packet(
    combo: tuple[str, str | None], socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = socket_pair
    theirs = paramiko.packet.Packetizer(a)
    theirs.set_outbound_cipher(**_cipher_args(*combo, encrypt=True))
    theirs.send_message(paramiko.Message(b"\x02" + b"x" * 40))
    wire = bytearray(b.recv(4096))
    wire[10] ^= 1  # in the payload, past the length
    ours = sshwire.packet.Packetizer(b)
    ours.set_inbound_cipher(**_cipher_args(*combo, encrypt=False))
    a.sendall(bytes(wire))
    with pytest.raises(SSHException, match="MAC"):
        ours.read_message()


def test_packetizer_eof_timeouts_and_lines(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = socket_pair
    ours = sshwire.packet.Packetizer(b)
    a.sendall(b"SSH-2.0-peer_1.0\r\nnot a line yet")
    assert ours.readline(5) == "SSH-2.0-peer_1.0"
    assert ours.read_all(4) == b"not "  # the rest of readline's over-read comes first
    b.settimeout(0.05)
    with pytest.raises(socket.timeout):
        ours.readline(0.2)
    assert ours.read_all(10) == b"a line yet"
    ours._need_rekey = True  # as after REKEY_PACKETS
    with pytest.raises(sshwire.packet.NeedRekeyException):
        ours.read_all(3, check_rekey=True)
    ours._need_rekey = False
    # a read that times out over and over: keepalives fire (once encrypting), and the
    # handshake clock ends it
    ours.set_outbound_cipher(**_cipher_args("aes128-gcm@openssh.com", None, encrypt=True))
    pings: list[int] = []
    ours.set_keepalive(0.01, lambda: pings.append(1))
    assert not ours.handshake_timed_out()
    ours.start_handshake(0.3)
    with pytest.raises(EOFError):
        ours.read_all(1)
    assert ours.handshake_timed_out() and pings
    ours.complete_handshake()
    assert not ours.handshake_timed_out()
    a.close()
    b.settimeout(5)
    with pytest.raises(EOFError):
        ours.read_message()
    ours.close()
    assert ours.closed


def test_packetizer_rekey_accounting_matches_paramiko(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = socket_pair
    flags = []
    for cls in (sshwire.packet.Packetizer, paramiko.packet.Packetizer):
        sender, receiver = cls(a), cls(b)
        for p in (sender, receiver):
            p.REKEY_PACKETS = 3  # type: ignore[misc]
        sent = []
        for _ in range(4):
            sender.send_message(sshwire.Message(b"\x02ping"))
            receiver.read_message()
            sent.append((sender.need_rekey(), receiver.need_rekey()))
        # new keys in both directions end the rekey request
        combo = ("aes256-gcm@openssh.com", None)
        sender.set_outbound_cipher(**_cipher_args(*combo, encrypt=True))
        after_one = sender.need_rekey()
        sender.set_inbound_cipher(**_cipher_args(*combo, encrypt=False))
        flags.append((sent, after_one, sender.need_rekey()))
    assert flags[0] == flags[1]
    assert flags[0] == ([(False, False), (False, False), (True, True), (True, True)], True, False)


def test_compute_hmac_and_first_arg() -> None:
    args = (b"key", b"message", hashlib.sha256)
    assert sshwire.packet.compute_hmac(*args) == paramiko.packet.compute_hmac(*args)
    for exc in (OSError(11, "again"), ValueError(), Exception("x", 2)):
        assert sshwire.packet.first_arg(exc) == paramiko.packet.first_arg(exc)


# ============================================================================ kex classes

KEX_PAIRS = [
    (paramiko.kex_curve25519.KexCurve25519, sshwire.kex_curve25519.KexCurve25519),
    (paramiko.kex_ecdh_nist.KexNistp256, sshwire.kex_ecdh_nist.KexNistp256),
    (paramiko.kex_ecdh_nist.KexNistp384, sshwire.kex_ecdh_nist.KexNistp384),
    (paramiko.kex_ecdh_nist.KexNistp521, sshwire.kex_ecdh_nist.KexNistp521),
    (paramiko.kex_group14.KexGroup14SHA256, sshwire.kex_group14.KexGroup14SHA256),
    (paramiko.kex_group16.KexGroup16SHA512, sshwire.kex_group16.KexGroup16SHA512),
    (paramiko.kex_gex.KexGexSHA256, sshwire.kex_gex.KexGexSHA256),
    (paramiko.kex_mlkem.KexMLKEM768X25519, sshwire.kex_mlkem.KexMLKEM768X25519),
]
KEX_ATTRS = ("name", "hash_algo", "P", "G", "min_bits", "max_bits", "preferred_bits")


@pytest.mark.parametrize(("theirs", "ours"), KEX_PAIRS, ids=lambda c: c.__name__)
def test_kex_class_attributes(theirs: type, ours: type) -> None:
    for attr in KEX_ATTRS:
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    if hasattr(theirs, "curve"):
        assert type(ours.curve) is type(theirs.curve)  # type: ignore[attr-defined]
    if hasattr(theirs, "is_available"):
        assert ours.is_available() == theirs.is_available()  # type: ignore[attr-defined]


def test_kex_curve25519_name() -> None:
    # paramiko's class has no name (it registers it as curve25519-sha256@libssh.org)
    assert sshwire.kex_curve25519.KexCurve25519.name == "curve25519-sha256"


def test_gex_server_side_without_a_pack_refuses() -> None:
    class NoPack:
        server_mode = True
        local_version = remote_version = "SSH-2.0-x"
        local_kex_init = remote_kex_init = b"\x14"
        host_key_type = "ssh-ed25519"
        expected: tuple[int, ...] = ()

        def _expect_packet(self, *types: int) -> None:
            self.expected = types

        def _get_modulus_pack(self) -> None:
            return None

    t = NoPack()
    kex = sshwire.kex_gex.KexGexSHA256(t)
    kex.start_kex()
    assert t.expected == (34, 30)
    request = sshwire.Message()
    request.add_int(2048)
    request.add_int(3072)
    request.add_int(8192)
    request.rewind()
    with pytest.raises(SSHException, match="no modulus pack"):
        kex.parse_next(34, request)


def test_kex_class_rejects_unexpected_messages() -> None:
    class Client:
        server_mode = False
        local_version = "SSH-2.0-a"
        remote_version = "SSH-2.0-b"
        local_kex_init = remote_kex_init = b"\x14" + bytes(16)
        sent: list[bytes] = []

        def _send_message(self, m: Any) -> None:
            self.sent.append(m.asbytes())

        def _expect_packet(self, *types: int) -> None:
            pass

    t = Client()
    kex = sshwire.kex_curve25519.KexCurve25519(t)
    kex.start_kex()
    assert t.sent[0][0] == 30 and len(t.sent[0]) == 1 + 4 + 32
    with pytest.raises(SSHException, match="packet type 33"):
        kex.parse_next(33, sshwire.Message(b""))
    garbage = sshwire.Message()
    garbage.add_string(b"k" * 10)
    garbage.add_string(b"\x00" * 32)  # a low-order point: the all-zero secret
    garbage.add_string(b"sig")
    garbage.rewind()
    with pytest.raises(SSHException):
        kex.parse_next(31, garbage)
