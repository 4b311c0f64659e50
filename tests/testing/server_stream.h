#pragma once
// Threading contract: a ServerStream belongs to the thread that made it (a blocking
// grpc::ClientReader is not shared); Cancel() alone may be called from another thread
// (ClientContext::TryCancel is thread-safe). ReadStream is stateless, like CallUnary.
//
// Reading server streams from a test: ServerStream keeps one open (a watch: wait until the
// server registered it, take events one by one or n at a time, finish it, cancel it) and ends it
// on destruction; ReadStream reads a whole stream (a paged listing: with its next-page-token).

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/client_call.h"
#include "tests/testing/status_matchers.h"

namespace percore::testing {

template <class Message>
class ServerStream {
 public:
  // Opens stub.*method(request) with a deadline `timeout` from now.
  template <class Stub, class Request>
  ServerStream(Stub& stub,
               std::unique_ptr<grpc::ClientReader<Message>> (Stub::*method)(grpc::ClientContext*,
                                                                            const Request&),
               const Request& request, std::chrono::milliseconds timeout) {
    SetDeadline(context_, timeout);
    reader_ = (stub.*method)(&context_, request);
  }
  // Cancels the stream if it is still open, and reads it to its end as gRPC requires.
  ~ServerStream() {
    if (finished_) return;
    context_.TryCancel();
    DrainAndFinish();
  }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  // Returns once the server's initial metadata arrived: from then on every change is delivered.
  void WaitUntilRegistered() { reader_->WaitForInitialMetadata(); }

  // The next message, or nullopt once the stream has ended (then call Finish()).
  std::optional<Message> Next() {
    Message message;
    if (!reader_->Read(&message)) return std::nullopt;
    return message;
  }

  // Up to `n` messages: fewer only if the stream ended first.
  std::vector<Message> Next(size_t n) {
    std::vector<Message> messages;
    while (messages.size() < n) {
      std::optional<Message> message = Next();
      if (!message) break;
      messages.push_back(std::move(*message));
    }
    return messages;
  }

  grpc::Status Finish() {
    finished_ = true;
    return reader_->Finish();
  }

  // Reads to the end of the stream (dropping messages) and returns its status.
  grpc::Status DrainAndFinish() {
    Message ignored;
    while (reader_->Read(&ignored)) {
    }
    return Finish();
  }

  void Cancel() { context_.TryCancel(); }
  grpc::ClientContext& context() { return context_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Message>> reader_;
  bool finished_ = false;
};

// The trailer that carries a listing's next page token (empty or absent on the last page).
constexpr char kNextPageTokenKey[] = "next-page-token";

// One paged listing call: the messages streamed, the final status and the next-page-token.
template <class Message>
struct StreamPage {
  grpc::Status status;
  std::vector<Message> items;
  bool token_present = false;  // the trailer key was sent at all
  std::string token;           // its value (empty when absent)
  bool more() const { return !token.empty(); }
};

// Reads a whole server stream within `timeout`: every message, the final status, and (for a
// paged listing) the next-page-token trailer.
template <class Stub, class Request, class Message>
StreamPage<Message> ReadStream(Stub& stub,
                               std::unique_ptr<grpc::ClientReader<Message>> (Stub::*method)(
                                   grpc::ClientContext*, const Request&),
                               const Request& request,
                               std::chrono::milliseconds timeout = kCallTimeout) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  StreamPage<Message> page;
  auto reader = (stub.*method)(&context, request);
  Message message;
  while (reader->Read(&message)) page.items.push_back(message);
  page.status = reader->Finish();
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kNextPageTokenKey);
  if (it != trailers.end()) {
    page.token_present = true;
    page.token.assign(it->second.data(), it->second.size());
  }
  return page;
}

// Follows the next-page-tokens of a listing from its first page: `list(token)` reads one page.
// Appends every page's size to *sizes and its items to *items; fails (and stops) on a page that
// is not OK, or when more than `max_pages` pages would be needed.
template <class Message, class ListFn>
::testing::AssertionResult WalkPages(ListFn list, size_t max_pages, std::vector<size_t>* sizes,
                                     std::vector<Message>* items) {
  std::string token;
  for (size_t pages = 1;; ++pages) {
    StreamPage<Message> page = list(token);
    if (!page.status.ok()) {
      return ::testing::AssertionFailure() << "page " << pages << ": " << Describe(page.status);
    }
    if (sizes) sizes->push_back(page.items.size());
    items->insert(items->end(), page.items.begin(), page.items.end());
    if (!page.more()) return ::testing::AssertionSuccess();
    if (pages >= max_pages) return ::testing::AssertionFailure() << "paging does not end";
    token = page.token;
  }
}

}  // namespace percore::testing
