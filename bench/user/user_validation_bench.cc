// The field rules every CreateUser/UpdateUser runs before anything else (user_validation.h):
// email, name, roles, and the email's uniqueness key. Valid inputs are the common case; an
// invalid one also builds its error message, which is measured separately.

#include <benchmark/benchmark.h>
#include <google/protobuf/repeated_ptr_field.h>

#include <string>
#include <vector>

#include "services/user/user_validation.h"

namespace percore::user {
namespace {

void BM_UserValidation_ValidateEmail(benchmark::State& state) {
  const std::string email = "  Jane.Doe+percore@Example.com ";
  std::string normalized;
  for (auto _ : state) benchmark::DoNotOptimize(ValidateEmail(email, &normalized).ok());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserValidation_ValidateEmail);

// An invalid email: the check fails early, but the INVALID_ARGUMENT status carries a message.
void BM_UserValidation_ValidateEmailInvalid(benchmark::State& state) {
  const std::string email = "jane.doe.example.com";
  std::string normalized;
  for (auto _ : state) benchmark::DoNotOptimize(ValidateEmail(email, &normalized).ok());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserValidation_ValidateEmailInvalid);

void BM_UserValidation_EmailKey(benchmark::State& state) {
  const std::string email = "Jane.Doe+percore@Example.com";
  for (auto _ : state) {
    std::string key = EmailKey(email);
    benchmark::DoNotOptimize(key.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserValidation_EmailKey);

void BM_UserValidation_ValidateName(benchmark::State& state) {
  const std::string name = " Jane Doe-Ångström ";
  std::string normalized;
  for (auto _ : state) benchmark::DoNotOptimize(ValidateName(name, &normalized).ok());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserValidation_ValidateName);

// state.range(0) distinct roles of ~12 characters (1: the seed's shape; 32: the maximum, where
// de-duplication is quadratic).
void BM_UserValidation_ValidateRoles(benchmark::State& state) {
  google::protobuf::RepeatedPtrField<std::string> roles;
  for (int64_t i = 0; i < state.range(0); ++i) *roles.Add() = "role:member" + std::to_string(i);
  std::vector<std::string> normalized;
  for (auto _ : state) benchmark::DoNotOptimize(ValidateRoles(roles, &normalized).ok());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserValidation_ValidateRoles)->Arg(1)->Arg(32);

}  // namespace
}  // namespace percore::user
