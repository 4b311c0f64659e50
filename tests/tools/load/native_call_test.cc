// The native client's byte-level rules without a server: grpc-timeout encoding, grpc-message
// percent-decoding, messages counted across split DATA chunks, and the status of a stream that
// ends without grpc-status.
#include "tools/load/native_call.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>

#include "tools/load/native_request.h"

namespace percore::load {
namespace {

using namespace std::chrono_literals;

class CountDone : public NativeCallObserver {
 public:
  void OnCallDone() override { ++done; }
  int done = 0;
};

TEST(NativeRequestTest, GrpcTimeoutRoundsUpToAUnitThatFits) {
  EXPECT_EQ(EncodeGrpcTimeout(1ns), "1n");
  EXPECT_EQ(EncodeGrpcTimeout(50ms), "50000000n");
  EXPECT_EQ(EncodeGrpcTimeout(20s), "20000000u");
  EXPECT_EQ(EncodeGrpcTimeout(std::chrono::nanoseconds(100000001)), "100001u");
  EXPECT_EQ(EncodeGrpcTimeout(std::chrono::hours(24 * 365 * 4)), "2102400M");
}

TEST(NativeCallTest, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("50%25 done%3A %C3%BCber"),
            "50% done: \xC3\xBC"
            "ber");
  EXPECT_EQ(PercentDecode("bad %zz and %4"), "bad %zz and %4");
}

TEST(NativeCallTest, CountsMessagesSplitAcrossChunksAndStopsAtTheLimit) {
  CountDone observer;
  NativeCall call(&observer);
  call.Reset(/*receive_limit=*/3);
  // Two messages (3 and 0 bytes) then a third, cut mid-prefix and mid-body.
  const uint8_t bytes[] = {0, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'x', 'y'};
  EXPECT_FALSE(call.OnData(bytes, 7));
  EXPECT_FALSE(call.OnData(bytes + 7, 5));
  EXPECT_EQ(call.messages_received(), 1u);
  EXPECT_FALSE(call.OnData(bytes + 12, 7));
  EXPECT_EQ(call.messages_received(), 2u);
  EXPECT_TRUE(call.OnData(bytes + 19, 1));
  EXPECT_EQ(call.messages_received(), 3u);
  EXPECT_EQ(call.bytes_received(), 5u);
}

TEST(NativeCallTest, StatusFromTrailersOrTheWayTheStreamEnded) {
  CountDone observer;
  NativeCall call(&observer);
  call.Reset(0);
  call.OnHeader(":status", "200");
  call.OnHeader("grpc-status", "5");
  call.OnHeader("grpc-message", "user%20x");
  call.OnStreamClose(NGHTTP2_NO_ERROR);
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(call.status().error_message(), "user x");

  call.Reset(0);
  call.OnHeader(":status", "503");
  call.OnStreamClose(NGHTTP2_NO_ERROR);
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::UNAVAILABLE);

  call.Reset(0);
  call.OnHeader(":status", "200");
  call.OnStreamClose(NGHTTP2_REFUSED_STREAM);
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::UNAVAILABLE);

  call.Reset(0);
  call.OnStreamClose(NGHTTP2_INTERNAL_ERROR);
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(observer.done, 4);
}

}  // namespace
}  // namespace percore::load
