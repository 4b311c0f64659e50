#pragma once
// Threading contract: WritePage() on the shard that serves the stream call; the writer then
// lives on that shard (kept alive by the stream's OnWritable callback while it waits).
//
// The paged server-stream writer of List methods whose page is gathered first (ListOrders,
// ListProducts): the items are written in order as the stream takes them — when its bounded
// queue is full the writer waits for OnWritable instead of buffering more — and the call is
// finished OK after the last. A cancelled call stops the writer.

#include <memory>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace percore::rpc {

namespace internal {

template <class Stream, class Item, class Message>
class PageWriter : public std::enable_shared_from_this<PageWriter<Stream, Item, Message>> {
 public:
  PageWriter(Stream stream, std::vector<Item> items, Message message)
      : stream_(std::move(stream)), items_(std::move(items)), message_(std::move(message)) {}

  void Pump() {
    while (next_ < items_.size()) {
      if (!stream_.Write(message_(items_[next_]))) {
        if (stream_.cancelled()) return;
        stream_.OnWritable([self = this->shared_from_this()] { self->Pump(); });
        return;
      }
      ++next_;
    }
    stream_.Finish(Status());
  }

 private:
  Stream stream_;
  std::vector<Item> items_;
  Message message_;
  size_t next_ = 0;
};

}  // namespace internal

// Streams message(item) for each of `items`, then finishes the call OK.
template <class Stream, class Item, class Message>
void WritePage(Stream stream, std::vector<Item> items, Message message) {
  std::make_shared<internal::PageWriter<Stream, Item, Message>>(std::move(stream), std::move(items),
                                                                std::move(message))
      ->Pump();
}

}  // namespace percore::rpc
