"""Protocol numbers, byte constants and tiny helpers with the names of ``paramiko.common``.

The message numbers and channel-open reason codes come from :mod:`sshwire._proto.constants`
and the authentication results from :mod:`sshwire.server`, so each value has one definition;
this module only adds the names paramiko exposes on top of them (``cMSG_*`` single-byte forms,
:data:`MSG_NAMES`, window and packet sizes, permission bits and logging levels).
"""

from __future__ import annotations

import logging
from typing import Final

from ._proto.constants import (
    DISCONNECT_AUTH_CANCELLED_BY_USER,
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    DISCONNECT_SERVICE_NOT_AVAILABLE,
    MSG_CHANNEL_CLOSE,
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_CHANNEL_FAILURE,
    MSG_CHANNEL_OPEN,
    MSG_CHANNEL_OPEN_CONFIRMATION,
    MSG_CHANNEL_OPEN_FAILURE,
    MSG_CHANNEL_REQUEST,
    MSG_CHANNEL_SUCCESS,
    MSG_CHANNEL_WINDOW_ADJUST,
    MSG_DEBUG,
    MSG_DISCONNECT,
    MSG_EXT_INFO,
    MSG_GLOBAL_REQUEST,
    MSG_IGNORE,
    MSG_KEXINIT,
    MSG_NEWKEYS,
    MSG_REQUEST_FAILURE,
    MSG_REQUEST_SUCCESS,
    MSG_SERVICE_ACCEPT,
    MSG_SERVICE_REQUEST,
    MSG_UNIMPLEMENTED,
    MSG_USERAUTH_BANNER,
    MSG_USERAUTH_FAILURE,
    MSG_USERAUTH_GSSAPI_ERROR,
    MSG_USERAUTH_GSSAPI_MIC,
    MSG_USERAUTH_INFO_REQUEST,
    MSG_USERAUTH_INFO_RESPONSE,
    MSG_USERAUTH_PK_OK,
    MSG_USERAUTH_REQUEST,
    MSG_USERAUTH_SUCCESS,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_FAILED_RESOURCE_SHORTAGE,
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
    OPEN_SUCCEEDED,
)
from .server import AUTH_FAILED, AUTH_PARTIALLY_SUCCESSFUL, AUTH_SUCCESSFUL

__all__ = [
    "AUTH_FAILED",
    "AUTH_PARTIALLY_SUCCESSFUL",
    "AUTH_SUCCESSFUL",
    "CONNECTION_FAILED_CODE",
    "CRITICAL",
    "DEBUG",
    "DEFAULT_MAX_PACKET_SIZE",
    "DEFAULT_WINDOW_SIZE",
    "DISCONNECT_AUTH_CANCELLED_BY_USER",
    "DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE",
    "DISCONNECT_SERVICE_NOT_AVAILABLE",
    "ERROR",
    "HIGHEST_USERAUTH_MESSAGE_ID",
    "INFO",
    "MAX_WINDOW_SIZE",
    "MIN_PACKET_SIZE",
    "MIN_WINDOW_SIZE",
    "MSG_CHANNEL_CLOSE",
    "MSG_CHANNEL_DATA",
    "MSG_CHANNEL_EOF",
    "MSG_CHANNEL_EXTENDED_DATA",
    "MSG_CHANNEL_FAILURE",
    "MSG_CHANNEL_OPEN",
    "MSG_CHANNEL_OPEN_FAILURE",
    "MSG_CHANNEL_OPEN_SUCCESS",
    "MSG_CHANNEL_REQUEST",
    "MSG_CHANNEL_SUCCESS",
    "MSG_CHANNEL_WINDOW_ADJUST",
    "MSG_DEBUG",
    "MSG_DISCONNECT",
    "MSG_EXT_INFO",
    "MSG_GLOBAL_REQUEST",
    "MSG_IGNORE",
    "MSG_KEXINIT",
    "MSG_NAMES",
    "MSG_NEWKEYS",
    "MSG_REQUEST_FAILURE",
    "MSG_REQUEST_SUCCESS",
    "MSG_SERVICE_ACCEPT",
    "MSG_SERVICE_REQUEST",
    "MSG_UNIMPLEMENTED",
    "MSG_USERAUTH_BANNER",
    "MSG_USERAUTH_FAILURE",
    "MSG_USERAUTH_GSSAPI_ERROR",
    "MSG_USERAUTH_GSSAPI_ERRTOK",
    "MSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE",
    "MSG_USERAUTH_GSSAPI_MIC",
    "MSG_USERAUTH_GSSAPI_RESPONSE",
    "MSG_USERAUTH_GSSAPI_TOKEN",
    "MSG_USERAUTH_INFO_REQUEST",
    "MSG_USERAUTH_INFO_RESPONSE",
    "MSG_USERAUTH_PK_OK",
    "MSG_USERAUTH_REQUEST",
    "MSG_USERAUTH_SUCCESS",
    "OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED",
    "OPEN_FAILED_CONNECT_FAILED",
    "OPEN_FAILED_RESOURCE_SHORTAGE",
    "OPEN_FAILED_UNKNOWN_CHANNEL_TYPE",
    "OPEN_SUCCEEDED",
    "WARNING",
    "byte_chr",
    "byte_mask",
    "byte_ord",
    "cMSG_CHANNEL_CLOSE",
    "cMSG_CHANNEL_DATA",
    "cMSG_CHANNEL_EOF",
    "cMSG_CHANNEL_EXTENDED_DATA",
    "cMSG_CHANNEL_FAILURE",
    "cMSG_CHANNEL_OPEN",
    "cMSG_CHANNEL_OPEN_FAILURE",
    "cMSG_CHANNEL_OPEN_SUCCESS",
    "cMSG_CHANNEL_REQUEST",
    "cMSG_CHANNEL_SUCCESS",
    "cMSG_CHANNEL_WINDOW_ADJUST",
    "cMSG_DEBUG",
    "cMSG_DISCONNECT",
    "cMSG_EXT_INFO",
    "cMSG_GLOBAL_REQUEST",
    "cMSG_IGNORE",
    "cMSG_KEXINIT",
    "cMSG_NEWKEYS",
    "cMSG_REQUEST_FAILURE",
    "cMSG_REQUEST_SUCCESS",
    "cMSG_SERVICE_ACCEPT",
    "cMSG_SERVICE_REQUEST",
    "cMSG_UNIMPLEMENTED",
    "cMSG_USERAUTH_BANNER",
    "cMSG_USERAUTH_FAILURE",
    "cMSG_USERAUTH_GSSAPI_ERROR",
    "cMSG_USERAUTH_GSSAPI_ERRTOK",
    "cMSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE",
    "cMSG_USERAUTH_GSSAPI_MIC",
    "cMSG_USERAUTH_GSSAPI_RESPONSE",
    "cMSG_USERAUTH_GSSAPI_TOKEN",
    "cMSG_USERAUTH_INFO_REQUEST",
    "cMSG_USERAUTH_INFO_RESPONSE",
    "cMSG_USERAUTH_PK_OK",
    "cMSG_USERAUTH_REQUEST",
    "cMSG_USERAUTH_SUCCESS",
    "cr_byte",
    "cr_byte_value",
    "crlf",
    "four_byte",
    "io_sleep",
    "linefeed_byte",
    "linefeed_byte_value",
    "max_byte",
    "o70",
    "o600",
    "o644",
    "o660",
    "o666",
    "o700",
    "o777",
    "one_byte",
    "x80000000",
    "xffffffff",
    "zero_byte",
]

# paramiko's spelling of MSG_CHANNEL_OPEN_CONFIRMATION (RFC 4254 §5.1).
MSG_CHANNEL_OPEN_SUCCESS: Final = MSG_CHANNEL_OPEN_CONFIRMATION

# GSSAPI user authentication (RFC 4462 §3); 60 and 61 overlap the keyboard-interactive and
# public-key numbers, which is why they are per-method.
MSG_USERAUTH_GSSAPI_RESPONSE: Final = 60
MSG_USERAUTH_GSSAPI_TOKEN: Final = 61
MSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE: Final = 63
MSG_USERAUTH_GSSAPI_ERRTOK: Final = 65

#: The largest message number in the user-authentication range (RFC 4250 §4.1.2: 50..79).
HIGHEST_USERAUTH_MESSAGE_ID: Final = 79


def _c(number: int) -> bytes:
    return bytes((number,))


cMSG_DISCONNECT: Final = _c(MSG_DISCONNECT)
cMSG_IGNORE: Final = _c(MSG_IGNORE)
cMSG_UNIMPLEMENTED: Final = _c(MSG_UNIMPLEMENTED)
cMSG_DEBUG: Final = _c(MSG_DEBUG)
cMSG_SERVICE_REQUEST: Final = _c(MSG_SERVICE_REQUEST)
cMSG_SERVICE_ACCEPT: Final = _c(MSG_SERVICE_ACCEPT)
cMSG_EXT_INFO: Final = _c(MSG_EXT_INFO)
cMSG_KEXINIT: Final = _c(MSG_KEXINIT)
cMSG_NEWKEYS: Final = _c(MSG_NEWKEYS)
cMSG_USERAUTH_REQUEST: Final = _c(MSG_USERAUTH_REQUEST)
cMSG_USERAUTH_FAILURE: Final = _c(MSG_USERAUTH_FAILURE)
cMSG_USERAUTH_SUCCESS: Final = _c(MSG_USERAUTH_SUCCESS)
cMSG_USERAUTH_BANNER: Final = _c(MSG_USERAUTH_BANNER)
cMSG_USERAUTH_PK_OK: Final = _c(MSG_USERAUTH_PK_OK)
cMSG_USERAUTH_INFO_REQUEST: Final = _c(MSG_USERAUTH_INFO_REQUEST)
cMSG_USERAUTH_INFO_RESPONSE: Final = _c(MSG_USERAUTH_INFO_RESPONSE)
cMSG_USERAUTH_GSSAPI_RESPONSE: Final = _c(MSG_USERAUTH_GSSAPI_RESPONSE)
cMSG_USERAUTH_GSSAPI_TOKEN: Final = _c(MSG_USERAUTH_GSSAPI_TOKEN)
cMSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE: Final = _c(MSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE)
cMSG_USERAUTH_GSSAPI_ERROR: Final = _c(MSG_USERAUTH_GSSAPI_ERROR)
cMSG_USERAUTH_GSSAPI_ERRTOK: Final = _c(MSG_USERAUTH_GSSAPI_ERRTOK)
cMSG_USERAUTH_GSSAPI_MIC: Final = _c(MSG_USERAUTH_GSSAPI_MIC)
cMSG_GLOBAL_REQUEST: Final = _c(MSG_GLOBAL_REQUEST)
cMSG_REQUEST_SUCCESS: Final = _c(MSG_REQUEST_SUCCESS)
cMSG_REQUEST_FAILURE: Final = _c(MSG_REQUEST_FAILURE)
cMSG_CHANNEL_OPEN: Final = _c(MSG_CHANNEL_OPEN)
cMSG_CHANNEL_OPEN_SUCCESS: Final = _c(MSG_CHANNEL_OPEN_SUCCESS)
cMSG_CHANNEL_OPEN_FAILURE: Final = _c(MSG_CHANNEL_OPEN_FAILURE)
cMSG_CHANNEL_WINDOW_ADJUST: Final = _c(MSG_CHANNEL_WINDOW_ADJUST)
cMSG_CHANNEL_DATA: Final = _c(MSG_CHANNEL_DATA)
cMSG_CHANNEL_EXTENDED_DATA: Final = _c(MSG_CHANNEL_EXTENDED_DATA)
cMSG_CHANNEL_EOF: Final = _c(MSG_CHANNEL_EOF)
cMSG_CHANNEL_CLOSE: Final = _c(MSG_CHANNEL_CLOSE)
cMSG_CHANNEL_REQUEST: Final = _c(MSG_CHANNEL_REQUEST)
cMSG_CHANNEL_SUCCESS: Final = _c(MSG_CHANNEL_SUCCESS)
cMSG_CHANNEL_FAILURE: Final = _c(MSG_CHANNEL_FAILURE)

#: Message number to the short name used in debug logs. The names (including the doubled
#: dash of ``userauth--banner``, and the GSSAPI names for 60 and 61) match paramiko's log
#: output.
MSG_NAMES: Final[dict[int, str]] = {
    MSG_DISCONNECT: "disconnect",
    MSG_IGNORE: "ignore",
    MSG_UNIMPLEMENTED: "unimplemented",
    MSG_DEBUG: "debug",
    MSG_SERVICE_REQUEST: "service-request",
    MSG_SERVICE_ACCEPT: "service-accept",
    MSG_KEXINIT: "kexinit",
    MSG_EXT_INFO: "ext-info",
    MSG_NEWKEYS: "newkeys",
    **{number: f"kex{number}" for number in (30, 31, 32, 33, 34, 40, 41)},
    MSG_USERAUTH_REQUEST: "userauth-request",
    MSG_USERAUTH_FAILURE: "userauth-failure",
    MSG_USERAUTH_SUCCESS: "userauth-success",
    MSG_USERAUTH_BANNER: "userauth--banner",
    MSG_USERAUTH_GSSAPI_RESPONSE: "userauth-gssapi-response",
    MSG_USERAUTH_GSSAPI_TOKEN: "userauth-gssapi-token",
    MSG_GLOBAL_REQUEST: "global-request",
    MSG_REQUEST_SUCCESS: "request-success",
    MSG_REQUEST_FAILURE: "request-failure",
    MSG_CHANNEL_OPEN: "channel-open",
    MSG_CHANNEL_OPEN_SUCCESS: "channel-open-success",
    MSG_CHANNEL_OPEN_FAILURE: "channel-open-failure",
    MSG_CHANNEL_WINDOW_ADJUST: "channel-window-adjust",
    MSG_CHANNEL_DATA: "channel-data",
    MSG_CHANNEL_EXTENDED_DATA: "channel-extended-data",
    MSG_CHANNEL_EOF: "channel-eof",
    MSG_CHANNEL_CLOSE: "channel-close",
    MSG_CHANNEL_REQUEST: "channel-request",
    MSG_CHANNEL_SUCCESS: "channel-success",
    MSG_CHANNEL_FAILURE: "channel-failure",
    MSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE: "userauth-gssapi-exchange-complete",
    MSG_USERAUTH_GSSAPI_ERROR: "userauth-gssapi-error",
    MSG_USERAUTH_GSSAPI_ERRTOK: "userauth-gssapi-error-token",
    MSG_USERAUTH_GSSAPI_MIC: "userauth-gssapi-mic",
}

#: Channel-open failure reason code to the text shown in a ChannelException.
CONNECTION_FAILED_CODE: Final[dict[int, str]] = {
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED: "Administratively prohibited",
    OPEN_FAILED_CONNECT_FAILED: "Connect failed",
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE: "Unknown channel type",
    OPEN_FAILED_RESOURCE_SHORTAGE: "Resource shortage",
}


def byte_ord(c: int | str | bytes) -> int:
    """Return the integer value of one byte, given as an int (returned as-is) or a 1-char str."""
    if isinstance(c, int):
        return c
    return ord(c)


def byte_chr(c: int) -> bytes:
    """Return the one-byte ``bytes`` whose value is ``c`` (0..255)."""
    return bytes((c,))


def byte_mask(c: int, mask: int) -> bytes:
    """Return ``c & mask`` as a one-byte ``bytes``."""
    return bytes((c & mask,))


# Byte values used when building and parsing packets and banner lines.
zero_byte: Final = b"\x00"
one_byte: Final = b"\x01"
four_byte: Final = b"\x04"
max_byte: Final = b"\xff"
cr_byte: Final = b"\r"
linefeed_byte: Final = b"\n"
crlf: Final = cr_byte + linefeed_byte
cr_byte_value: Final = 13
linefeed_byte_value: Final = 10

xffffffff: Final = 0xFFFFFFFF
x80000000: Final = 0x80000000

# File permission bits.
o666: Final = 0o666
o660: Final = 0o660
o644: Final = 0o644
o600: Final = 0o600
o777: Final = 0o777
o700: Final = 0o700
o70: Final = 0o70

# Logging levels, re-exported from :mod:`logging`.
DEBUG: Final = logging.DEBUG
INFO: Final = logging.INFO
WARNING: Final = logging.WARNING
ERROR: Final = logging.ERROR
CRITICAL: Final = logging.CRITICAL

#: Seconds a polling loop sleeps between checks of a socket or event.
io_sleep: Final = 0.01

#: Initial per-channel receive window advertised in CHANNEL_OPEN (2 MiB).
DEFAULT_WINDOW_SIZE: Final = 64 * 2**15
#: Largest channel data packet advertised in CHANNEL_OPEN (32 KiB).
DEFAULT_MAX_PACKET_SIZE: Final = 2**15

#: Smallest window a caller may request.
MIN_WINDOW_SIZE: Final = 2**15
#: Smallest maximum packet size a caller may request (RFC 4253 §6.1 asks for at least 32768
#: bytes of packet, but paramiko accepts channel packet limits down to 4096).
MIN_PACKET_SIZE: Final = 2**12
#: Largest window: the window counter is a uint32 (RFC 4254 §5.2).
MAX_WINDOW_SIZE: Final = 2**32 - 1
