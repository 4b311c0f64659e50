"""HTTP/2 frames and HPACK representations (RFC 9113, RFC 7541) written byte by byte, for the
requests no client library would send this way: hostile or malformed frames, header blocks whose
every field is a literal the test chose. Encoders only; raw_h2.RawClient reads the answers."""

from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH


def frame(kind, flags, stream_id, payload=b""):
    """One frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big")
            + payload)


def hpack_int(value, prefix_bits, first=0):
    """An integer with an N-bit prefix, `first` holding the representation's leading bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(value, huffman=False):
    """A string literal (bytes), raw or Huffman-coded with the request table."""
    if huffman:
        coded = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(value)
        return hpack_int(len(coded), 7, 0x80) + coded
    return hpack_int(len(value), 7) + value


def hpack_literal(name, value):
    """A field as a literal without indexing, new name, name and value raw (bytes): HPACK's
    dynamic table stays as it was."""
    return b"\x00" + hpack_string(name) + hpack_string(value)
