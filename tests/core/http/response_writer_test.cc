// core/http's answer writer (response_writer.h) against Beast's serializer on the same answer,
// built as http_session.h's WriteWithBeast builds it: statuses (with and without a body),
// HTTP/1.0 and 1.1, keep-alive or not, HEAD, extra headers; and the answers it leaves to Beast.

#include "core/http/response_writer.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <sstream>
#include <string>

namespace percore::http::internal {
namespace {

namespace bhttp = boost::beast::http;

std::string BeastBytes(const Response& r, unsigned version, bool keep_alive, bool head) {
  bhttp::response<bhttp::string_body> res(static_cast<bhttp::status>(r.status), version);
  res.set(bhttp::field::server, "percore");
  res.set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST(ResponseWriter, WritesWhatBeastWrites) {
  const int statuses[] = {100, 200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                          413, 415, 429, 431, 499, 500, 501, 503, 504, 599};
  for (int status : statuses) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {true, false}) {
        for (bool head : {false, true}) {
          for (int extras = 0; extras < 3; ++extras) {
            Response r;
            r.status = status;
            r.content_type = "application/json";
            bool empty = status == 100 || status == 204 || status == 304;
            if (!empty) r.body = "{\"id\":\"x\",\"n\":" + std::to_string(status) + "}";
            if (extras > 0) r.headers.emplace_back("Location", "/v1/users/x");
            if (extras > 1) r.headers.emplace_back("Allow", "GET, PATCH, DELETE");
            std::string out = "kept";
            ASSERT_TRUE(AppendResponse(r, version, keep_alive, head, out));
            EXPECT_EQ(out, "kept" + BeastBytes(r, version, keep_alive, head))
                << status << " HTTP/" << version << " keep-alive " << keep_alive << " head " << head
                << " extras " << extras;
          }
        }
      }
    }
  }
}

TEST(ResponseWriter, LeavesMergedHeadersToBeast) {
  std::string out;
  for (const char* name :
       {"Server", "content-type", "Connection", "Content-Length", "Transfer-Encoding"}) {
    Response r;
    r.headers.emplace_back(name, "x");
    EXPECT_FALSE(AppendResponse(r, 11, true, false, out)) << name;
  }
  Response informational{100, "text/plain", "x", {}};
  EXPECT_FALSE(AppendResponse(informational, 11, true, false, out));
  Response no_content{204, "application/json", "{}", {}};
  EXPECT_FALSE(AppendResponse(no_content, 11, true, false, out));
  Response twice;
  twice.headers = {{"Allow", "GET"}, {"allow", "POST"}};
  EXPECT_FALSE(AppendResponse(twice, 11, true, false, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace percore::http::internal
