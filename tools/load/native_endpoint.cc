#include "tools/load/native_endpoint.h"

#include <netdb.h>

#include <cstring>

namespace percore::load {
namespace {

constexpr auto kReconnectBackoff = std::chrono::seconds(1);

}  // namespace

bool ResolveHost(const std::string& host, sockaddr_storage* address, socklen_t* length,
                 std::string* error) {
  std::string target = host;
  if (target.rfind("dns:///", 0) == 0) target = target.substr(7);
  if (target.rfind("ipv4:", 0) == 0 || target.rfind("ipv6:", 0) == 0) target = target.substr(5);
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    *error = "'" + host + "' has no port";
    return false;
  }
  std::string name = target.substr(0, colon);
  std::string port = target.substr(colon + 1);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(name.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    *error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(address, found->ai_addr, found->ai_addrlen);
  *length = found->ai_addrlen;
  freeaddrinfo(found);
  return true;
}

NativeEndpoint::NativeEndpoint(int epoll_fd, const NativeRequest& request, const std::string& host,
                               std::chrono::nanoseconds connect_timeout)
    : epoll_fd_(epoll_fd), request_(request), connect_timeout_(connect_timeout) {
  ResolveHost(host, &address_, &address_length_, &resolve_error_);
}

NativeConnection* NativeEndpoint::Usable(std::string* error) {
  if (current_ && current_->accepts_calls()) return current_.get();
  if (!resolve_error_.empty()) {
    *error = resolve_error_;
    return nullptr;
  }
  if (current_ && current_->open() && current_->active_calls() > 0) {
    retiring_.push_back(std::move(current_));
  }
  current_.reset();
  auto now = Clock::now();
  if (now < retry_at_) {
    *error = last_error_;
    return nullptr;
  }
  auto connection = std::make_unique<NativeConnection>(epoll_fd_, request_);
  std::string reason;
  if (!connection->Connect(address_, address_length_, connect_timeout_, &reason)) {
    last_error_ = "connection to the server failed: " + reason;
    retry_at_ = now + kReconnectBackoff;
    *error = last_error_;
    return nullptr;
  }
  current_ = std::move(connection);
  return current_.get();
}

void NativeEndpoint::Flush() {
  if (current_) current_->Flush();
  for (size_t i = 0; i < retiring_.size();) {
    retiring_[i]->Flush();
    if (retiring_[i]->active_calls() == 0) {
      retiring_[i] = std::move(retiring_.back());
      retiring_.pop_back();
    } else {
      ++i;
    }
  }
}

void NativeEndpoint::CloseAll() {
  current_.reset();
  retiring_.clear();
}

}  // namespace percore::load
