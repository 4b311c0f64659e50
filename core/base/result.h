// Result<T>: a value of type T or a failed Status — the one result type of percore's stores,
// service APIs and clients (the shape of absl::StatusOr<T> and Dragonfly's OpResult<T>).
//
// Threading contract: a plain value. A Result owns everything it holds (the message is a
// std::string, the value is moved in), so it can be moved across shards as the answer of a
// cross-shard task without referring to the producing shard's data.
//
//   Result<User> r = FindUser(id);  // inside: `return StatusCode::kNotFound;` or `return user;`
//   if (!r.ok()) return r.status();
//   Use(*r);
//
// Callers check ok() before touching the value; value() on a failed result is a precondition
// violation (asserted), never an exception: the request path does not throw.
#pragma once

#include <cassert>
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/base/status.h"

namespace percore {

template <class T>
class Result;

namespace internal {

// A failure never carries kOk: building one from an OK status is a programming error
// (asserted), and release builds turn it into kInternal so that ok() still implies a value.
inline Status FailedStatus(Status status) {
  assert(!status.ok() && "a failed Result needs a non-OK status");
  if (status.ok()) return Status(StatusCode::kInternal, "Result built from OK without a value");
  return status;
}

template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

// What a Result<T> may be built from as a success: anything T is constructible from except a
// status (which means failure) or another Result (which is a copy or a move).
template <class U, class T>
concept ValueSourceFor =
    std::constructible_from<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, StatusCode> &&
    !std::is_same_v<std::remove_cvref_t<U>, Status> && !IsResult<std::remove_cvref_t<U>>::value;

}  // namespace internal

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, StatusCode> &&
                    !std::is_same_v<std::remove_cv_t<T>, Status>,
                "Result<Status> would make every constructor ambiguous");
  static_assert(!std::is_reference_v<T>, "Result holds values; use a pointer for a reference");

 public:
  using value_type = T;

  // Success. Implicit so that a function returning Result<T> can `return value;`.
  template <internal::ValueSourceFor<T> U = T>
  Result(U&& value)  // NOLINT
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}

  // Failure. Implicit so that a function can `return StatusCode::kNotFound;`,
  // `return {StatusCode::kInvalidArgument, "name is empty"};` or `return other.status();`.
  Result(StatusCode code, std::string message = {})  // NOLINT
      : Result(Status(code, std::move(message))) {}
  Result(Status status)  // NOLINT
      : state_(std::in_place_index<1>, internal::FailedStatus(std::move(status))) {}

  bool ok() const { return state_.index() == 0; }
  StatusCode code() const { return ok() ? StatusCode::kOk : failure().code(); }
  // Empty on success.
  const std::string& message() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : failure().message();
  }
  // OK on success.
  Status status() const { return ok() ? Status() : failure(); }

  // Precondition: ok().
  T& value() & { return *Get(); }
  const T& value() const& { return *Get(); }
  T&& value() && { return std::move(*Get()); }
  T& operator*() & { return *Get(); }
  const T& operator*() const& { return *Get(); }
  T&& operator*() && { return std::move(*Get()); }
  T* operator->() { return Get(); }
  const T* operator->() const { return Get(); }

 private:
  T* Get() {
    assert(ok() && "value() of a failed Result");
    return std::get_if<0>(&state_);
  }
  const T* Get() const {
    assert(ok() && "value() of a failed Result");
    return std::get_if<0>(&state_);
  }
  const Status& failure() const { return *std::get_if<1>(&state_); }

  std::variant<T, Status> state_;
};

// A result with nothing to return on success: `return {};` is OK.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  // `code` must not be kOk (asserted; becomes kInternal in release builds).
  Result(StatusCode code, std::string message = {})  // NOLINT
      : Result(Status(code, std::move(message))) {}
  Result(Status status)  // NOLINT
      : status_(internal::FailedStatus(std::move(status))) {}

  bool ok() const { return status_.ok(); }
  StatusCode code() const { return status_.code(); }
  // Empty on success.
  const std::string& message() const { return status_.message(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

}  // namespace percore
