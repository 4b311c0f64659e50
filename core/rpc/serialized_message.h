#pragma once
// Threading contract: a SerializedMessage is immutable once shared (fill() only before the first
// copy); copies share the bytes through an atomic count, so they may be copied and destroyed on
// any thread (a transport may drop its reference on its own threads).
//
// A message serialized once and kept (a user row, a watch event) and handed to any number of
// calls through WriteRaw()/FinishRaw(). It is transport-neutral, so handlers name no libgrpc
// type: the libgrpc transport (grpc_bytes.h) wraps these very bytes in a grpc_slice that holds a
// reference, so sending copies no byte. Copies: building one copies the bytes once (or the
// caller serializes straight into fill()); each send costs one reference and, inside libgrpc,
// one small slice-refcount object; no send copies the payload.

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace percore::rpc {

class SerializedMessage {
 public:
  SerializedMessage() = default;  // the empty message
  // `size` bytes to be written through fill() before the message is shared.
  static SerializedMessage Uninitialized(size_t size) {
    return SerializedMessage(Block::New(size));
  }
  static SerializedMessage Copy(std::string_view bytes) {
    SerializedMessage message = Uninitialized(bytes.size());
    if (!bytes.empty()) std::memcpy(message.fill(), bytes.data(), bytes.size());
    return message;
  }

  SerializedMessage(const SerializedMessage& other) : block_(other.block_) {
    if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  SerializedMessage(SerializedMessage&& other) noexcept
      : block_(std::exchange(other.block_, nullptr)) {}
  SerializedMessage& operator=(SerializedMessage other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~SerializedMessage() { Block::Unref(block_); }

  const char* data() const { return block_ ? block_->bytes() : nullptr; }
  size_t size() const { return block_ ? block_->size : 0; }
  std::string_view view() const { return {data(), size()}; }
  // Writable bytes; only while this is the sole reference (right after Uninitialized()).
  char* fill() { return block_ ? block_->bytes() : nullptr; }

  // For a transport: a counted reference as an opaque pointer, and its release (the pair a C
  // slice API with a destroy callback wants). Takes one reference; Release() drops it.
  void* Retain() const {
    if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
    return block_;
  }
  static void Release(void* retained) { Block::Unref(static_cast<Block*>(retained)); }

 private:
  // One allocation: the count and the size, then the bytes.
  struct Block {
    std::atomic<int> refs{1};
    size_t size = 0;
    char* bytes() { return reinterpret_cast<char*>(this + 1); }
    static Block* New(size_t size) {
      void* memory = ::operator new(sizeof(Block) + size);
      Block* block = new (memory) Block;
      block->size = size;
      return block;
    }
    static void Unref(Block* block) {
      if (block && block->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        block->~Block();
        ::operator delete(block);
      }
    }
  };

  explicit SerializedMessage(Block* block) : block_(block) {}

  Block* block_ = nullptr;
};

}  // namespace percore::rpc
