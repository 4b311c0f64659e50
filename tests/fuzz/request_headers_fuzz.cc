// Fuzz target: what core/net reads of a client's bytes before nghttp2 does (Connection::Receive)
// — the frame follower (request_frame_scanner.h) over the bytes after the connection preface,
// cut into reads of sizes drawn from the input's first byte, and the HPACK walk and the
// `authorization` decoding (hpack_authorization.h) over every block it reports and over the
// input taken as one block; and the request field rules (request_header_rules.h) on the input
// as a value, a path, a name and a content-length. Checked: nothing is read outside the input
// (ASan), every report lies inside its read and its frame, a raw literal decodes to its own octets,
// and each rule answers as nghttp2's check it replaces (content-length: as std::from_chars on
// digits).

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "core/net/hpack_authorization.h"
#include "core/net/request_frame_scanner.h"
#include "core/net/request_header_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore::net {
namespace {

// The decoding must never read outside the literal or crash, whatever its bytes (ASan); a value
// it returns came out of nghttp2's decoder whole, so a raw literal decodes to its own octets.
void CheckDecoded(std::string_view wire_value) {
  std::optional<std::string> value = DecodeAuthorizationValue(wire_value);
  if (!value || wire_value.empty() || (static_cast<uint8_t>(wire_value[0]) & 0x80) != 0) return;
  FUZZ_CHECK(wire_value.size() >= value->size() &&
             wire_value.substr(wire_value.size() - value->size()) == *value);
}

// percore's field rules (sixteen bytes a step) against nghttp2's own checks, which they replace
// (request_header_rules.h): the same answer for every input.
void CheckRules(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FUZZ_CHECK(ValidFieldValue(text) == (nghttp2_check_header_value_rfc9113(data, size) != 0));
  FUZZ_CHECK(ValidPseudoValue(PseudoHeader::kPath, text) ==
             (size > 0 && nghttp2_check_path(data, size) != 0));
  if (size > 0 && data[0] != ':') {
    FUZZ_CHECK(ValidFieldName(text) == (nghttp2_check_header_name(data, size) != 0));
  }
  // content-length: digits only, any number of them, refused past 2^63 - 1.
  int64_t expected = 0;
  const bool digits = size > 0 && std::all_of(text.begin(), text.end(),
                                              [](char c) { return c >= '0' && c <= '9'; });
  const auto [end, error] = std::from_chars(text.data(), text.data() + size, expected);
  const bool number = digits && error == std::errc() && end == text.data() + size;
  std::optional<int64_t> length = ParseContentLength(text);
  FUZZ_CHECK(length.has_value() == number);
  if (length) FUZZ_CHECK(*length == expected);
}

void CheckBlock(const uint8_t* block, size_t size) {
  std::optional<AuthorizationLiteral> found = FindAuthorizationLiteral(block, size);
  if (!found) return;
  FUZZ_CHECK(found->begin < found->end && found->end <= size);
  const auto* value = reinterpret_cast<const uint8_t*>(found->wire_value.data());
  FUZZ_CHECK(value > block + found->begin &&
             value + found->wire_value.size() == block + found->end);
  CheckDecoded(found->wire_value);
}

}  // namespace
}  // namespace percore::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::net;
  if (size == 0) return 0;
  CheckBlock(data + 1, size - 1);
  CheckRules(data + 1, size - 1);
  const size_t read_size = 1 + data[0] % 64 * 37;  // 1 .. 2332 bytes a read
  std::string stream = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  stream.append(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestFrameScanner scanner;
  for (size_t from = 0; from < stream.size(); from += read_size) {
    std::vector<uint8_t> read(
        stream.begin() + static_cast<long>(from),
        stream.begin() + static_cast<long>(std::min(stream.size(), from + read_size)));
    size_t cursor = 0;
    while (auto found = scanner.Next(read.data(), read.size(), &cursor, /*look=*/true)) {
      FUZZ_CHECK(cursor == found->frame_end && found->frame_end <= read.size());
      FUZZ_CHECK(found->frame_begin + RequestFrameScanner::kFrameHeaderBytes <=
                 found->literal.begin);
      FUZZ_CHECK(found->literal.begin < found->literal.end &&
                 found->literal.end <= found->frame_end);
      FUZZ_CHECK(found->frame_end - found->frame_begin - RequestFrameScanner::kFrameHeaderBytes ==
                 RequestFrameScanner::FrameLength(read.data() + found->frame_begin));
      FUZZ_CHECK(found->stream_id % 2 == 1);
      CheckDecoded(found->literal.wire_value);
    }
    FUZZ_CHECK(cursor == read.size());
  }
  return 0;
}
