#pragma once
// Threading contract: plain values; a Result owns what it holds and may cross threads.
//
// Result<T>: a value or an error message, so the tools report every failure as a sentence on
// stderr without exceptions crossing their layers (the shape of core/base's Result, but a
// tool's errors need only a message: the exit code is chosen by the stage that failed).

#include <string>
#include <utility>
#include <variant>

namespace percore::grpcdyn {

struct Error {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit, like StatusOr
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const std::string& error() const { return std::get<1>(state_).message; }
  // Re-wraps the error for a caller returning another Result type.
  Error TakeError() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// Success or an error, for operations without a value.
using Status = Result<std::monostate>;
inline Status OkStatus() { return std::monostate{}; }

}  // namespace percore::grpcdyn
