#pragma once
// Threading contract: as each header it includes (fixtures from the test's main thread; the
// free helpers from any thread, each with its own ClientContext).
//
// Everything an end-to-end suite of a service needs, in one include and one using-directive:
//
//   namespace percore::user_test {
//   using namespace ::percore::testing::e2e;
//
// Suites still declare `using ::grpc::Status;` themselves: percore has a Status of its own, and
// a using-directive alone would make the name ambiguous.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>

#include "tests/testing/client_call.h"
#include "tests/testing/server_stream.h"
#include "tests/testing/service_test.h"
#include "tests/testing/shard_keys.h"
#include "tests/testing/shard_probe.h"
#include "tests/testing/status_matchers.h"

namespace percore::testing::e2e {

using namespace ::percore::testing;
using namespace std::chrono_literals;
using ::grpc::ClientContext;

}  // namespace percore::testing::e2e
