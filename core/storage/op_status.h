// OpStatus and OpResult<T>: how storage operations report failure without exceptions.
//
// Threading contract: plain values. An OpResult owns everything it holds (the message is a
// std::string, the value is moved in), so it can be moved across shards as the answer of a
// cross-shard task without referring to the producing shard's data.
#pragma once

#include <cassert>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace percore::storage {

// Each code has exactly one gRPC status code with the same name (kNotFound -> NOT_FOUND, ...),
// so the service boundary maps them one-to-one; storage itself knows nothing of gRPC.
enum class OpStatus : uint8_t {
  kOk,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
};

// Stable names for logs and test output.
constexpr std::string_view OpStatusName(OpStatus status) {
  switch (status) {
    case OpStatus::kOk:
      return "OK";
    case OpStatus::kNotFound:
      return "NOT_FOUND";
    case OpStatus::kAlreadyExists:
      return "ALREADY_EXISTS";
    case OpStatus::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case OpStatus::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case OpStatus::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case OpStatus::kAborted:
      return "ABORTED";
  }
  return "UNKNOWN";
}

template <class T>
class OpResult;

namespace internal {

// What an OpResult built from a status holds. A failure never carries kOk: building one from
// kOk is a programming error (asserted), and release builds turn it into kFailedPrecondition
// so that ok() still implies a value is present.
struct OpFailure {
  OpFailure(OpStatus s, std::string m) : status(s), message(std::move(m)) {
    assert(status != OpStatus::kOk && "a failed OpResult needs a non-OK status");
    if (status == OpStatus::kOk) {
      status = OpStatus::kFailedPrecondition;
      message = "OpResult built from kOk without a value";
    }
  }
  OpStatus status;
  std::string message;
};

template <class T>
struct IsOpResult : std::false_type {};
template <class T>
struct IsOpResult<OpResult<T>> : std::true_type {};

// What an OpResult<T> may be built from as a success: anything T is constructible from except
// a status (which means failure) or another OpResult (which is a copy or a move).
template <class U, class T>
concept ValueSourceFor =
    std::constructible_from<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, OpStatus> &&
    !IsOpResult<std::remove_cvref_t<U>>::value;

}  // namespace internal

// Either a value of type T or a non-OK status with a message, in the spirit of
// absl::StatusOr<T> and Dragonfly's OpResult<T>. Callers check ok() before touching the value;
// value() on a failed result is a precondition violation (asserted), never an exception.
//
//   OpResult<User> r = FindUser(id);  // inside: `return OpStatus::kNotFound;` or `return user;`
//   if (!r.ok()) return ToGrpcStatus(r.status(), r.message());
//   Use(*r);
template <class T>
class [[nodiscard]] OpResult {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, OpStatus>,
                "OpResult<OpStatus> would make every constructor ambiguous");
  static_assert(!std::is_reference_v<T>, "OpResult holds values; use a pointer for a reference");

 public:
  using value_type = T;

  // Success. Implicit so that a function returning OpResult<T> can `return value;`.
  template <internal::ValueSourceFor<T> U = T>
  OpResult(U&& value)  // NOLINT
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}

  // Failure. Implicit so that a function can `return OpStatus::kNotFound;` or
  // `return {OpStatus::kInvalidArgument, "name is empty"};`. `status` must not be kOk.
  OpResult(OpStatus status, std::string message = {})  // NOLINT
      : state_(std::in_place_index<1>, status, std::move(message)) {}

  bool ok() const { return state_.index() == 0; }
  OpStatus status() const { return ok() ? OpStatus::kOk : failure().status; }
  // Empty on success.
  const std::string& message() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : failure().message;
  }

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
    assert(ok() && "value() of a failed OpResult");
    return std::get_if<0>(&state_);
  }
  const T* Get() const {
    assert(ok() && "value() of a failed OpResult");
    return std::get_if<0>(&state_);
  }
  const internal::OpFailure& failure() const { return *std::get_if<1>(&state_); }

  std::variant<T, internal::OpFailure> state_;
};

// A result with nothing to return on success: `return {};` is OK.
template <>
class [[nodiscard]] OpResult<void> {
 public:
  using value_type = void;

  OpResult() = default;
  // `status` must not be kOk (asserted; becomes kFailedPrecondition in release builds).
  OpResult(OpStatus status, std::string message = {})  // NOLINT
      : status_(status), message_(std::move(message)) {
    internal::OpFailure failure(status_, std::move(message_));
    status_ = failure.status;
    message_ = std::move(failure.message);
  }

  bool ok() const { return status_ == OpStatus::kOk; }
  OpStatus status() const { return status_; }
  // Empty on success.
  const std::string& message() const { return message_; }

 private:
  OpStatus status_ = OpStatus::kOk;
  std::string message_;
};

}  // namespace percore::storage
