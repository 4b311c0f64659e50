#pragma once
// Threading contract: values over caller-owned bytes; any thread.
//
// The payload encoding the services' journals share: little-endian fixed-width integers and
// length-prefixed strings, appended by RecordEncoder and read back by RecordDecoder, which checks
// every length against what is left so a damaged payload is refused, never read past its end.
// (The framing around a payload, with its checksum, is log_format.h's.)

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace percore::durability {

class RecordEncoder {
 public:
  RecordEncoder& U32(uint32_t value) { return Fixed(value); }
  RecordEncoder& I64(int64_t value) { return Fixed(static_cast<uint64_t>(value)); }
  RecordEncoder& Str(std::string_view value) {
    U32(static_cast<uint32_t>(value.size()));
    bytes_.append(value);
    return *this;
  }
  std::string& bytes() { return bytes_; }
  std::string Take() { return std::move(bytes_); }

 private:
  template <class T>
  RecordEncoder& Fixed(T value) {
    for (size_t i = 0; i < sizeof(T); ++i) bytes_.push_back(static_cast<char>(value >> (8 * i)));
    return *this;
  }
  std::string bytes_;
};

class RecordDecoder {
 public:
  explicit RecordDecoder(std::string_view bytes) : rest_(bytes) {}
  // Each returns false (and leaves the decoder failed) when the payload is too short.
  bool U32(uint32_t* value) { return Fixed(value); }
  bool I64(int64_t* value) {
    uint64_t raw = 0;
    if (!Fixed(&raw)) return false;
    *value = static_cast<int64_t>(raw);
    return true;
  }
  bool Str(std::string* value) {
    uint32_t size = 0;
    if (!U32(&size) || size > rest_.size()) return Fail();
    value->assign(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return true;
  }
  // What is left (a trailing serialized message).
  std::string_view rest() const { return rest_; }
  bool ok() const { return ok_; }

 private:
  template <class T>
  bool Fixed(T* value) {
    if (!ok_ || rest_.size() < sizeof(T)) return Fail();
    T result = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      result |= static_cast<T>(static_cast<unsigned char>(rest_[i])) << (8 * i);
    }
    rest_.remove_prefix(sizeof(T));
    *value = result;
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view rest_;
  bool ok_ = true;
};

}  // namespace percore::durability
