// Unit tests of the parts Connection::Receive uses to hand a repeated `authorization` over
// without nghttp2 decoding it: the HPACK walk (hpack_authorization.h), the frame follower
// (request_frame_scanner.h) and the memo (authorization_memo.h). Header blocks come from
// nghttp2's own HPACK encoder where it can make them, by hand where no encoder would.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <set>
#include <string>
#include <vector>

#include "core/net/authorization_memo.h"
#include "core/net/hpack_authorization.h"
#include "core/net/request_frame_scanner.h"

namespace percore::net {
namespace {

const std::string kToken = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.signature-0123456789";

nghttp2_nv Field(const std::string& name, const std::string& value, uint8_t flags = 0) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          flags};
}

// A request's block as nghttp2 encodes it (a fresh deflater: what h2load sends first).
std::string DeflatedBlock(const std::vector<nghttp2_nv>& fields) {
  nghttp2_hd_deflater* deflater = nullptr;
  nghttp2_hd_deflate_new(&deflater, 4096);
  std::vector<nghttp2_nv> nva = fields;
  std::string out(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
  ssize_t n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                    nva.data(), nva.size());
  nghttp2_hd_deflate_del(deflater);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string RequestFields() {
  static const std::string m = ":method", post = "POST", s = ":scheme", http = "http", p = ":path",
                           path = "/user.v1.UserService/GetUser", ct = "content-type",
                           grpc = "application/grpc", a = "authorization";
  return DeflatedBlock({Field(m, post), Field(s, http), Field(p, path), Field(ct, grpc),
                        Field(a, kToken, NGHTTP2_NV_FLAG_NO_INDEX)});
}

std::string RawString(const std::string& s) {  // < 127 bytes
  return std::string(1, static_cast<char>(s.size())) + s;
}

std::string Frame(uint8_t type, uint8_t flags, int32_t id, const std::string& payload) {
  std::string f(9, '\0');
  RequestFrameScanner::SetFrameLength(reinterpret_cast<uint8_t*>(f.data()),
                                      static_cast<uint32_t>(payload.size()));
  f[3] = static_cast<char>(type);
  f[4] = static_cast<char>(flags);
  f[5] = static_cast<char>((id >> 24) & 0x7f);
  f[6] = static_cast<char>(id >> 16);
  f[7] = static_cast<char>(id >> 8);
  f[8] = static_cast<char>(id);
  return f + payload;
}

TEST(FindAuthorizationLiteralTest, FindsNghttp2sNeverIndexedHuffmanLiteralAndDecodesIt) {
  const std::string block = RequestFields();
  auto found =
      FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(block.data()), block.size());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->end, block.size());                              // the last field
  EXPECT_EQ(static_cast<uint8_t>(block[found->begin]), 0x1f);       // never indexed, index 15 + ...
  EXPECT_NE(static_cast<uint8_t>(found->wire_value[0]) & 0x80, 0);  // Huffman-coded
  EXPECT_LT(found->wire_value.size(), kToken.size());
  EXPECT_EQ(DecodeAuthorizationValue(found->wire_value), kToken);
}

TEST(FindAuthorizationLiteralTest, FindsLibgrpcsRawNameLiteralWithoutIndexing) {
  const std::string literal = RawString(kToken);
  const std::string block = std::string("\x83\x86", 2) + std::string(1, '\0') +
                            RawString("authorization") + literal + "\x0f\x10" +
                            RawString("application/grpc");
  auto found =
      FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(block.data()), block.size());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->begin, 2u);
  EXPECT_EQ(found->end, 2u + 1 + 14 + literal.size());
  EXPECT_EQ(found->wire_value, literal);
  EXPECT_EQ(DecodeAuthorizationValue(found->wire_value), kToken);
}

TEST(FindAuthorizationLiteralTest, IgnoresWhatTouchesTheDynamicTableOrIsNotAuthorization) {
  const std::string literal = RawString(kToken);
  const std::vector<std::string> blocks = {
      std::string("\x57") + literal,  // with incremental indexing, index 23
      std::string("\x40") + RawString("authorization") + literal,  // the same, name literal
      std::string("\x1f\x07") + literal,  // never indexed, index 22 (allow)
      std::string(1, '\0') + RawString("authorizatioN") + literal,
      std::string("\xbe"),          // indexed, dynamic entry 62
      std::string("\x3f\xe1\x1f"),  // a table size update, nothing else
      // Table size updates after a field are nghttp2's to refuse: no cut may make one legal.
      std::string("\x83\x20\x1f\x08") + literal,
      std::string("\x1f\x08") + literal + "\x20\x83",
  };
  for (const std::string& block : blocks) {
    EXPECT_FALSE(
        FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(block.data()), block.size()))
        << block.size();
  }
}

TEST(FindAuthorizationLiteralTest, TakesALiteralAfterALegalTableSizeUpdate) {
  const std::string literal = RawString(kToken);
  const std::string block = std::string("\x20\x1f\x08", 3) + literal + "\x83";
  auto found =
      FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(block.data()), block.size());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->begin, 1u);
  EXPECT_EQ(found->wire_value, literal);
}

TEST(FindAuthorizationLiteralTest, TruncatedBlocksNeverReadPastTheirEnd) {
  // Every prefix of a block (ASan watches the reads): the literal is found only once whole.
  const std::string block = RequestFields();
  for (size_t size = 0; size <= block.size(); ++size) {
    std::vector<uint8_t> copy(block.begin(), block.begin() + static_cast<long>(size));
    auto found = FindAuthorizationLiteral(copy.data(), copy.size());
    EXPECT_EQ(found.has_value(), size == block.size()) << size;
  }
  // Integers that never end, or run past any real length.
  for (const std::string& bad :
       {std::string("\x1f\xff\xff\xff\xff\xff\xff"), std::string("\x1f\x08\xff\xff\xff\xff\x0f"),
        std::string("\x80")}) {
    EXPECT_FALSE(
        FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  }
}

TEST(DecodeAuthorizationValueTest, RefusesWhatNghttp2WouldRefuse) {
  EXPECT_FALSE(
      DecodeAuthorizationValue(RawString("Bearer a\x01"
                                         "b")));
  EXPECT_FALSE(DecodeAuthorizationValue(RawString("Bearer a\r\nx")));
  EXPECT_FALSE(DecodeAuthorizationValue(RawString(" Bearer lead")));           // RFC 9113 §8.2.1
  EXPECT_FALSE(DecodeAuthorizationValue(std::string("\x83\x00\x00\x00", 4)));  // not EOS padding
  EXPECT_FALSE(
      DecodeAuthorizationValue(std::string("\x05"
                                           "ab",
                                           3)));  // shorter than it says
  EXPECT_EQ(DecodeAuthorizationValue(RawString("")), "");
}

// The byte stream of a client: preface, SETTINGS, then requests in every shape.
struct ClientBytes {
  std::string bytes;
  std::set<int32_t> with_literal;  // streams whose HEADERS a whole-stream read must report
  std::string literal;             // the wire value every one of them carries
};

ClientBytes MakeClientBytes() {
  const std::string block = RequestFields();
  auto found =
      FindAuthorizationLiteral(reinterpret_cast<const uint8_t*>(block.data()), block.size());
  ClientBytes c;
  c.literal = std::string(found->wire_value);
  c.bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  c.bytes += Frame(0x4, 0, 0, std::string(6, '\0'));       // SETTINGS
  c.bytes += Frame(0x1, 0x4, 1, block);                    // HEADERS, END_HEADERS
  c.bytes += Frame(0x0, 0x1, 1, std::string(30000, 'd'));  // DATA (longer than a read)
  c.bytes += Frame(0x1, 0x4 | 0x8 | 0x20, 3,               // PADDED, PRIORITY
                   std::string(1, '\x09') + std::string(5, '\0') + block + std::string(9, '\0'));
  c.bytes += Frame(0x1, 0x5, 1, block);                // trailers of stream 1
  c.bytes += Frame(0x1, 0x4, 2, block);                // even: not a request
  c.bytes += Frame(0x1, 0x0, 5, block.substr(0, 10));  // HEADERS + CONTINUATION
  c.bytes += Frame(0x9, 0x4, 5, block.substr(10));
  c.bytes += Frame(0x8, 0, 0, std::string("\x00\x00\x10\x00", 4));  // WINDOW_UPDATE
  c.bytes += Frame(0x1, 0x4, 7, block);
  c.bytes += Frame(0x1, 0x4, 3, block);  // 3 again: not new
  c.with_literal = {1, 3, 7};
  return c;
}

// Feeds `bytes` in reads ending at `cuts`; returns the streams reported, checking each report.
std::set<int32_t> Scan(const ClientBytes& c, const std::vector<size_t>& cuts, bool look = true) {
  RequestFrameScanner scanner;
  std::set<int32_t> reported;
  size_t from = 0;
  for (size_t to : cuts) {
    std::vector<uint8_t> read(c.bytes.begin() + static_cast<long>(from),
                              c.bytes.begin() + static_cast<long>(to));
    size_t cursor = 0;
    while (auto found = scanner.Next(read.data(), read.size(), &cursor, look)) {
      EXPECT_TRUE(reported.insert(found->stream_id).second);
      EXPECT_EQ(cursor, found->frame_end);
      EXPECT_LE(found->frame_begin + 9, found->literal.begin);
      EXPECT_LE(found->literal.end, found->frame_end);
      EXPECT_EQ(found->frame_end - found->frame_begin - 9,
                RequestFrameScanner::FrameLength(read.data() + found->frame_begin));
      const std::string_view at(
          reinterpret_cast<const char*>(read.data()) + found->literal.end - c.literal.size(),
          c.literal.size());
      EXPECT_EQ(at, c.literal);
      EXPECT_EQ(found->literal.wire_value, c.literal);
    }
    EXPECT_EQ(cursor, read.size());
    from = to;
  }
  return reported;
}

TEST(RequestFrameScannerTest, ReportsNewRequestsWholeInOneRead) {
  const ClientBytes c = MakeClientBytes();
  EXPECT_EQ(Scan(c, {c.bytes.size()}), c.with_literal);
  EXPECT_TRUE(Scan(c, {c.bytes.size()}, /*look=*/false).empty());
}

TEST(RequestFrameScannerTest, FollowsFramesAcrossReadsSplitAnywhere) {
  // Two reads, split at every offset: a request is reported when its frame lies wholly in one
  // read, and frame boundaries are never lost (a lost one would report garbage or nothing).
  const ClientBytes c = MakeClientBytes();
  const std::string block = RequestFields();
  size_t whole_every_time = 0;
  for (size_t split = 0; split <= c.bytes.size(); ++split) {
    std::set<int32_t> reported = Scan(c, {split, c.bytes.size()});
    for (int32_t id : reported) EXPECT_TRUE(c.with_literal.count(id)) << split;
    if (reported.count(7)) ++whole_every_time;
  }
  // Stream 7's frame is near the end: whole in the second read for most splits.
  EXPECT_GT(whole_every_time, c.bytes.size() - 2 * (block.size() + 9) - 30);
  // Three-byte reads: every frame header straddles some read; nothing is reported, all followed.
  std::vector<size_t> cuts;
  for (size_t at = 3; at < c.bytes.size(); at += 3) cuts.push_back(at);
  cuts.push_back(c.bytes.size());
  EXPECT_TRUE(Scan(c, cuts).empty());
}

TEST(RequestFrameScannerTest, AReadAfterTinyOnesStillFindsTheNextRequest) {
  ClientBytes c = MakeClientBytes();
  const size_t before_last = c.bytes.size();
  c.bytes += Frame(0x1, 0x4, 9, RequestFields());
  std::vector<size_t> cuts;
  for (size_t at = 1; at < before_last; at += 7) cuts.push_back(at);
  cuts.push_back(before_last);
  cuts.push_back(c.bytes.size());
  EXPECT_EQ(Scan(c, cuts), std::set<int32_t>{9});
}

TEST(AuthorizationMemoTest, MatchesOnlyTheSameBytes) {
  AuthorizationMemo memo;
  EXPECT_FALSE(memo.Matches(""));
  EXPECT_FALSE(memo.Matches("x"));
  const std::string wire = RawString(kToken);
  memo.Remember(wire, kToken);
  EXPECT_TRUE(memo.Matches(wire));
  EXPECT_EQ(memo.value(), kToken);
  EXPECT_FALSE(memo.Matches(wire.substr(0, wire.size() - 1)));
  EXPECT_FALSE(memo.Matches(wire + "x"));
  for (size_t i = 0; i < wire.size(); ++i) {  // one bit different anywhere
    std::string other = wire;
    other[i] = static_cast<char>(other[i] ^ 0x01);
    EXPECT_FALSE(memo.Matches(other)) << i;
  }
}

}  // namespace
}  // namespace percore::net
