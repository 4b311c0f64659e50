// CompactBlob: an immutable byte string in one pointer, for storing serialized rows.
//
// Threading contract: a plain value with no shared state; whoever holds it may read it. Moving
// it to another shard moves ownership of the bytes; there is no reference counting.
//
// Why not std::string: a table value sits in every map node, and at ~1M rows per process each
// byte per row is a megabyte. std::string is 32 bytes inline plus a heap block once the bytes
// exceed 15; a serialized row always exceeds 15, so the inline buffer is pure waste. CompactBlob
// is 8 bytes inline (one pointer to [uint32 size][bytes]) and an empty blob allocates nothing.
// It is move-only so that copying a row, which costs an allocation, is always visible
// (Clone()).
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

namespace percore::storage {

class CompactBlob {
 public:
  // The size is kept in 32 bits; gRPC's message limit is far below this.
  static constexpr size_t kMaxSize = std::numeric_limits<uint32_t>::max();

  CompactBlob() = default;
  CompactBlob(CompactBlob&&) noexcept = default;
  CompactBlob& operator=(CompactBlob&&) noexcept = default;
  CompactBlob(const CompactBlob&) = delete;
  CompactBlob& operator=(const CompactBlob&) = delete;

  // Precondition: bytes.size() <= kMaxSize (asserted).
  static CompactBlob CopyOf(std::string_view bytes) {
    assert(bytes.size() <= kMaxSize);
    CompactBlob blob;
    if (bytes.empty()) return blob;
    const auto size = static_cast<uint32_t>(bytes.size());
    blob.data_ = std::make_unique_for_overwrite<char[]>(sizeof(size) + size);
    std::memcpy(blob.data_.get(), &size, sizeof(size));
    std::memcpy(blob.data_.get() + sizeof(size), bytes.data(), size);
    return blob;
  }

  CompactBlob Clone() const { return CopyOf(view()); }

  std::string_view view() const {
    if (!data_) return {};
    return {data_.get() + sizeof(uint32_t), size()};
  }
  size_t size() const {
    if (!data_) return 0;
    uint32_t size;
    std::memcpy(&size, data_.get(), sizeof(size));
    return size;
  }
  bool empty() const { return data_ == nullptr; }

  friend bool operator==(const CompactBlob& a, const CompactBlob& b) {
    return a.view() == b.view();
  }

 private:
  std::unique_ptr<char[]> data_;
};

static_assert(sizeof(CompactBlob) == sizeof(void*));

}  // namespace percore::storage
