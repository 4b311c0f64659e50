#pragma once
// Threading contract: pure functions over caller-owned bytes; any thread.
//
// The on-disk framing shared by the per-shard write-ahead log and the snapshot files:
//
//   file   = header record*
//   header = magic "PCLOG001" | u32 version | u32 shard | u64 first_lsn | u64 xxh64(previous 24)
//   record = u32 payload_len | u32 type | u64 xxh64(payload, seed: len | type) | payload
//
// All integers little-endian. A record's LSN is first_lsn plus its index in the file, so a log
// continued after a snapshot numbers on from the snapshot's cut without an index. xxh64 (Debian's
// libxxhash) rather than CRC32C: as strong for torn-write detection and faster without SSE4.2
// intrinsics in our build.

#include <cstdint>
#include <string>
#include <string_view>

namespace percore::durability {

using Lsn = uint64_t;

inline constexpr std::string_view kLogMagic = "PCLOG001";
inline constexpr std::string_view kSnapshotMagic = "PCSNP001";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kFileHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 16;
// Larger lengths are treated as damage, never allocated: a flipped bit in a length must not
// make recovery ask for gigabytes.
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;

struct FileHeader {
  std::string_view magic = kLogMagic;
  uint32_t shard = 0;
  Lsn first_lsn = 0;
};

// Appends the 32-byte header to `out`.
void AppendFileHeader(const FileHeader& header, std::string& out);
// Parses a header whose magic must equal `magic`; false if short, foreign or damaged.
bool ParseFileHeader(std::string_view bytes, std::string_view magic, FileHeader& header);

// Appends one framed record to `out`. payload.size() must be <= kMaxRecordBytes.
void AppendRecord(uint32_t type, std::string_view payload, std::string& out);

struct RecordView {
  uint32_t type = 0;
  std::string_view payload;
};

enum class FrameResult {
  kOk,         // `record` is set; the record took kRecordHeaderBytes + payload.size() bytes
  kTruncated,  // fewer bytes than the header or the length announce
  kDamaged,    // implausible length or checksum mismatch
};
FrameResult ParseRecord(std::string_view bytes, RecordView& record);

}  // namespace percore::durability
