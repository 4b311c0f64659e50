#include "core/durability/log_format.h"

#include <xxhash.h>

#include <cstring>

namespace percore::durability {
namespace {

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// The length and type go in as the seed, so one pass over the payload covers all three.
uint64_t RecordChecksum(const char* len_and_type, std::string_view payload) {
  return XXH64(payload.data(), payload.size(), GetU64(len_and_type));
}

}  // namespace

void AppendFileHeader(const FileHeader& header, std::string& out) {
  char bytes[kFileHeaderBytes];
  std::memcpy(bytes, header.magic.data(), 8);
  PutU32(kFormatVersion, bytes + 8);
  PutU32(header.shard, bytes + 12);
  PutU64(header.first_lsn, bytes + 16);
  PutU64(XXH64(bytes, 24, 0), bytes + 24);
  out.append(bytes, sizeof bytes);
}

bool ParseFileHeader(std::string_view bytes, std::string_view magic, FileHeader& header) {
  if (bytes.size() < kFileHeaderBytes || bytes.substr(0, 8) != magic) return false;
  if (GetU64(bytes.data() + 24) != XXH64(bytes.data(), 24, 0)) return false;
  if (GetU32(bytes.data() + 8) != kFormatVersion) return false;
  header.magic = magic;
  header.shard = GetU32(bytes.data() + 12);
  header.first_lsn = GetU64(bytes.data() + 16);
  return true;
}

void AppendRecord(uint32_t type, std::string_view payload, std::string& out) {
  char head[kRecordHeaderBytes];
  PutU32(static_cast<uint32_t>(payload.size()), head);
  PutU32(type, head + 4);
  PutU64(RecordChecksum(head, payload), head + 8);
  out.append(head, sizeof head);
  out.append(payload.data(), payload.size());
}

FrameResult ParseRecord(std::string_view bytes, RecordView& record) {
  if (bytes.size() < kRecordHeaderBytes) return FrameResult::kTruncated;
  const uint32_t length = GetU32(bytes.data());
  if (length > kMaxRecordBytes) return FrameResult::kDamaged;
  if (bytes.size() - kRecordHeaderBytes < length) return FrameResult::kTruncated;
  std::string_view payload = bytes.substr(kRecordHeaderBytes, length);
  if (GetU64(bytes.data() + 8) != RecordChecksum(bytes.data(), payload)) {
    return FrameResult::kDamaged;
  }
  record.type = GetU32(bytes.data() + 4);
  record.payload = payload;
  return FrameResult::kOk;
}

}  // namespace percore::durability
