"""scp (``SCPClient``, legacy scp protocol over ``exec scp -t/-f``) on sshwire-as-paramiko.

Run by ``tests/interop/test_third_party.py``: ``python scp_scenarios.py SCENARIO`` with the
parameters in ``$SSHWIRE_TP_PARAMS``. The package is imported only after
``sshwire.install_as_paramiko()`` (see ``_harness.py``). The test checks the files on disk
(sshd runs on this machine, so "remote" paths are local paths too).
"""

from __future__ import annotations

import io
from typing import Any

import _harness


def _client(p: _harness.Params) -> Any:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(p["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        p["host"],
        p["port"],
        username=p["user"],
        key_filename=p["key"],
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    return client


def file_roundtrip(p: _harness.Params) -> dict[str, Any]:
    """put one binary file under a name with a space, get it back, with progress callbacks."""
    from scp import SCPClient

    progress: list[tuple[int, int]] = []

    def on_progress(name: bytes | str, size: int, sent: int) -> None:
        progress.append((size, sent))

    client = _client(p)
    try:
        with SCPClient(client.get_transport(), progress=on_progress) as scp:
            scp.put(p["src"], remote_path=p["remote"])
            put_progress = progress[-1]
            scp.get(p["remote"], local_path=p["dst"])
            get_progress = progress[-1]
    finally:
        client.close()
    return {"put_progress": put_progress, "get_progress": get_progress, "calls": len(progress)}


def many_files(p: _harness.Params) -> dict[str, Any]:
    """put a list of files into a directory, then get several remote paths at once."""
    from scp import SCPClient

    client = _client(p)
    try:
        scp = SCPClient(client.get_transport())
        scp.put(p["srcs"], remote_path=p["remote_dir"], preserve_times=True)
        scp.get(p["remotes"], local_path=p["dst_dir"], preserve_times=True)
        scp.close()
    finally:
        client.close()
    return {}


def recursive(p: _harness.Params) -> dict[str, Any]:
    """put a nested tree with recursive=True and preserve_times=True, then get it back."""
    from scp import SCPClient

    client = _client(p)
    try:
        with SCPClient(client.get_transport()) as scp:
            scp.put(p["tree"], remote_path=p["remote_dir"], recursive=True, preserve_times=True)
            scp.get(p["remote_tree"], local_path=p["dst_dir"], recursive=True, preserve_times=True)
    finally:
        client.close()
    return {}


def putfo(p: _harness.Params) -> dict[str, Any]:
    """putfo from in-memory files (with and without an explicit size, and an empty one)."""
    from scp import SCPClient

    with open(p["data_file"], "rb") as f:
        data = f.read()
    client = _client(p)
    try:
        with SCPClient(client.get_transport()) as scp:
            scp.putfo(io.BytesIO(data), p["remote"], mode="0640")
            buf = io.BytesIO(b"skip-me:" + data)
            buf.seek(len(b"skip-me:"))  # putfo sends from the current position
            scp.putfo(buf, p["remote_sized"], size=len(data))
            scp.putfo(io.BytesIO(b""), p["remote_empty"])
    finally:
        client.close()
    return {}


def errors(p: _harness.Params) -> dict[str, Any]:
    """Remote failures surface as SCPException; the connection stays usable afterwards."""
    from scp import SCPClient, SCPException

    messages: dict[str, str] = {}
    client = _client(p)
    try:
        transport = client.get_transport()
        # a failed transfer leaves its channel behind: leaving the with block closes it
        with SCPClient(transport) as scp:
            try:
                scp.get(p["missing"], local_path=p["dst_dir"])
            except SCPException as exc:
                messages["get_missing"] = str(exc)
        with SCPClient(transport) as scp:
            try:
                scp.put(p["src"], remote_path=p["bad_remote"])
            except SCPException as exc:
                messages["put_bad_dir"] = str(exc)
        with SCPClient(transport) as scp:
            scp.put(p["src"], remote_path=p["remote"])
        messages["still_active"] = str(transport.is_active())
    finally:
        client.close()
    return messages


def bare_transport(p: _harness.Params) -> dict[str, Any]:
    """scp.put/scp.get module functions over a bare Transport that checks the host key."""
    import base64

    import paramiko
    import scp

    key_type, key_b64 = p["host_key"].split()
    host_key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    transport = paramiko.Transport((p["host"], p["port"]))
    try:
        transport.connect(
            hostkey=host_key, username=p["user"], pkey=paramiko.PKey.from_path(p["key"])
        )
        scp.put(transport, p["src"], remote_path=p["remote"])
        scp.get(transport, p["remote"], local_path=p["dst"])
        agreed = transport.get_remote_server_key().get_name()
    finally:
        transport.close()
    return {"host_key_type": agreed}


if __name__ == "__main__":
    _harness.main(
        {
            "file_roundtrip": file_roundtrip,
            "many_files": many_files,
            "recursive": recursive,
            "putfo": putfo,
            "errors": errors,
            "bare_transport": bare_transport,
        }
    )
