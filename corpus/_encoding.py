"""Bytes to Unicode text. (First version: UTF-8 and the encoding the page declares.)"""

from __future__ import annotations

from ._errors import InputError


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` to text, trying UTF-8 (with or without BOM) and then ``declared``.

    Raises :class:`InputError` when the bytes cannot be decoded.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    raise InputError("cannot determine the text encoding", hint="Convert the file to UTF-8 and try again.")
