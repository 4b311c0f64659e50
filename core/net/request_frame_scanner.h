#pragma once
// Threading contract: one per Connection, used on its shard's thread only.
//
// Follows the frames of a client's byte stream as it is read — the 24-byte connection preface,
// then each frame's 9-byte header and payload, across reads of any size — without interpreting
// them (nghttp2 does that), so that a request's `authorization` literal can be found before
// nghttp2 decodes it (Connection: a token the connection decoded before is not decoded again).
// Only a request's HEADERS frame that opens a new stream (an odd id above every earlier one),
// carries its whole header block (END_HEADERS, no CONTINUATION), fits the default maximum frame
// size and lies entirely in the current read is looked into; any other frame, or a block that
// does not parse, is simply passed over and left to nghttp2.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/net/hpack_authorization.h"

namespace percore::net {

struct FoundAuthorization {
  int32_t stream_id = 0;
  size_t frame_begin = 0;        // the HEADERS frame's 9-byte header, as an offset into the read
  size_t frame_end = 0;          // past its payload
  AuthorizationLiteral literal;  // begin and end as offsets into the read
};

class RequestFrameScanner {
 public:
  static constexpr size_t kFrameHeaderBytes = 9;
  // Frames longer than the default SETTINGS_MAX_FRAME_SIZE (percore does not raise it) are a
  // connection error nghttp2 reports; they are never shortened into acceptable ones.
  static constexpr size_t kMaxFrameBytes = 16384;

  // Moves *cursor through data[*cursor, size) to just past the next HEADERS frame that holds an
  // `authorization` literal (looked for only when `look` is true), or to `size`. State carried
  // between reads: where in the preface, a frame header or a payload the last read ended.
  std::optional<FoundAuthorization> Next(const uint8_t* data, size_t size, size_t* cursor,
                                         bool look);

  // A frame's length field, read and rewritten in place (the caller shortens a frame it cut
  // from).
  static uint32_t FrameLength(const uint8_t* header) {
    return (uint32_t{header[0]} << 16) | (uint32_t{header[1]} << 8) | header[2];
  }
  static void SetFrameLength(uint8_t* header, uint32_t length) {
    header[0] = static_cast<uint8_t>(length >> 16);
    header[1] = static_cast<uint8_t>(length >> 8);
    header[2] = static_cast<uint8_t>(length);
  }
  static int32_t StreamIdOf(const uint8_t* header) {
    return static_cast<int32_t>((uint32_t{header[5] & 0x7fu} << 24) | (uint32_t{header[6]} << 16) |
                                (uint32_t{header[7]} << 8) | header[8]);
  }

 private:
  // A HEADERS frame's header: true when it opens a new request stream (noted).
  bool IsNewRequest(const uint8_t* header) {
    const int32_t id = StreamIdOf(header);
    if ((id & 1) == 0 || id <= last_request_stream_) return false;  // trailers, or no request
    last_request_stream_ = id;
    return true;
  }
  // Steps through what the last read left unfinished (the preface, a payload, a split frame
  // header) from `at`; returns where the next whole frame header starts.
  size_t CarryOver(const uint8_t* data, size_t size, size_t at);

  size_t preface_left_ = 24;  // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
  size_t payload_left_ = 0;   // of the frame being passed over
  uint8_t partial_header_[kFrameHeaderBytes];
  size_t partial_have_ = 0;  // a frame header split between two reads
  int32_t last_request_stream_ = 0;
};

}  // namespace percore::net
