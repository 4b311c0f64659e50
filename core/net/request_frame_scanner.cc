// RequestFrameScanner: frame boundaries across reads, and a look into a request's HEADERS.
#include "core/net/request_frame_scanner.h"

#include <algorithm>
#include <cstring>

namespace percore::net {
namespace {

constexpr uint8_t kHeadersType = 0x1;
constexpr uint8_t kEndHeaders = 0x4;
constexpr uint8_t kPadded = 0x8;
constexpr uint8_t kPriority = 0x20;
constexpr size_t kPriorityBytes = 5;

}  // namespace

size_t RequestFrameScanner::CarryOver(const uint8_t* data, size_t size, size_t at) {
  while (at < size && (preface_left_ > 0 || payload_left_ > 0 || partial_have_ > 0)) {
    const size_t available = size - at;
    if (preface_left_ > 0 || payload_left_ > 0) {
      size_t& left = preface_left_ > 0 ? preface_left_ : payload_left_;
      const size_t take = std::min(left, available);
      left -= take;
      at += take;
      continue;
    }
    const size_t take = std::min(kFrameHeaderBytes - partial_have_, available);
    std::memcpy(partial_header_ + partial_have_, data + at, take);
    partial_have_ += take;
    at += take;
    if (partial_have_ == kFrameHeaderBytes) {  // its payload starts in this read: not looked into
      partial_have_ = 0;
      payload_left_ = FrameLength(partial_header_);
      if (partial_header_[3] == kHeadersType) IsNewRequest(partial_header_);
    }
  }
  return at;
}

std::optional<FoundAuthorization> RequestFrameScanner::Next(const uint8_t* data, size_t size,
                                                            size_t* cursor, bool look) {
  size_t at = CarryOver(data, size, *cursor);
  // Whole frame headers in this read: the usual case, a few instructions a frame.
  while (at + kFrameHeaderBytes <= size) {
    const uint8_t* header = data + at;
    const size_t frame_begin = at;
    const size_t length = FrameLength(header);
    at += kFrameHeaderBytes + length;  // may point past this read: the payload goes on
    if (header[3] != kHeadersType || !IsNewRequest(header) || !look) continue;
    const uint8_t flags = header[4];
    if ((flags & kEndHeaders) == 0 || length > kMaxFrameBytes || at > size) continue;
    const uint8_t* payload = header + kFrameHeaderBytes;
    size_t block_begin = 0;
    size_t padding = 0;
    if ((flags & kPadded) != 0) {
      if (length < 1) continue;
      padding = payload[0];
      block_begin = 1;
    }
    if ((flags & kPriority) != 0) block_begin += kPriorityBytes;
    if (block_begin + padding > length) continue;  // nghttp2 refuses it
    std::optional<AuthorizationLiteral> literal =
        FindAuthorizationLiteral(payload + block_begin, length - block_begin - padding);
    if (!literal) continue;
    const size_t block_offset = frame_begin + kFrameHeaderBytes + block_begin;
    literal->begin += block_offset;
    literal->end += block_offset;
    *cursor = at;
    return FoundAuthorization{StreamIdOf(header), frame_begin, at, *literal};
  }
  if (at > size) {
    payload_left_ = at - size;
  } else if (at < size) {  // a frame header split between this read and the next
    partial_have_ = size - at;
    std::memcpy(partial_header_, data + at, partial_have_);
  }
  *cursor = size;
  return std::nullopt;
}

}  // namespace percore::net
