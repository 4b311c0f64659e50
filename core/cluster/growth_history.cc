#include "core/cluster/growth_history.h"

#include <charconv>

namespace percore::cluster {
namespace {

template <class Int>
bool ParseNumber(std::string_view text, Int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

std::optional<GrowthHistory> ParseGrowthHistory(std::string_view text, std::string* error) {
  auto bad = [&](const std::string& why) -> std::optional<GrowthHistory> {
    *error = "--grown wants P0,P1@T1[,P2@T2...] (partition counts, T in unix ms): " + why +
             " in \"" + std::string(text) + "\"";
    return std::nullopt;
  };
  GrowthHistory history;
  size_t start = 0;
  bool first = true;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    size_t count = 0;
    if (first) {
      if (!ParseNumber(item, &count) || count < 1 || count > 1024) {
        return bad("the first item is the deploy-time count P0");
      }
      history.first_partitions = count;
      first = false;
    } else {
      size_t at = item.find('@');
      uint64_t since = 0;
      if (at == std::string_view::npos || !ParseNumber(item.substr(0, at), &count) ||
          !ParseNumber(item.substr(at + 1), &since) || count < 1 || count > 1024) {
        return bad("\"" + std::string(item) + "\" is not P@T");
      }
      const size_t before =
          history.epochs.empty() ? history.first_partitions : history.epochs.back().partitions;
      if (count <= before) return bad("each count must be larger than the one before");
      if (!history.epochs.empty() && since <= history.epochs.back().since_ms) {
        return bad("each T must be later than the one before");
      }
      history.epochs.push_back(PlacementEpoch{since, count});
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (history.epochs.empty()) return bad("no growth listed");
  return history;
}

std::string FormatGrowthHistory(const GrowthHistory& history) {
  std::string text = std::to_string(history.first_partitions);
  for (const PlacementEpoch& epoch : history.epochs) {
    text += "," + std::to_string(epoch.partitions) + "@" + std::to_string(epoch.since_ms);
  }
  return text;
}

}  // namespace percore::cluster
