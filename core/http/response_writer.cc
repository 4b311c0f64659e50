#include "core/http/response_writer.h"

#include <boost/beast/http/status.hpp>
#include <charconv>
#include <string_view>

namespace percore::http::internal {

namespace {

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void AppendNumber(std::string& out, size_t n) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, n);
  out.append(text, end);
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out += ": ";
  out.append(value);
  out += "\r\n";
}

}  // namespace

bool AppendResponse(const Response& r, unsigned version, bool keep_alive, bool head,
                    std::string& out) {
  for (size_t i = 0; i < r.headers.size(); ++i) {
    std::string_view name = r.headers[i].first;
    for (std::string_view merged :
         {"server", "content-type", "connection", "content-length", "transfer-encoding"}) {
      if (SameName(name, merged)) return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (SameName(name, r.headers[j].first)) return false;
    }
  }
  // Beast's prepare_payload refuses a body on these (it throws).
  if ((r.status < 200 || r.status == 204 || r.status == 304) && !r.body.empty()) return false;
  out.reserve(out.size() + 160 + r.content_type.size() + r.body.size());
  out += "HTTP/";
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
  out.push_back(' ');
  AppendNumber(out, static_cast<size_t>(r.status));
  out.push_back(' ');
  auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  AppendField(out, "Server", "percore");
  AppendField(out, "Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) AppendField(out, name, value);
  if (version < 11 && keep_alive) AppendField(out, "Connection", "keep-alive");
  if (version >= 11 && !keep_alive) AppendField(out, "Connection", "close");
  out += "Content-Length: ";  // Beast 1.74's prepare_payload: on every status
  AppendNumber(out, r.body.size());
  out += "\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  return true;
}

}  // namespace percore::http::internal
