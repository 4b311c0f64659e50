// The access policy covers every method percore-server can host (a method added without a row
// fails here), its rows name real methods, and the shapes of its rules make sense: a kSelf rule
// names a string field of the method's request, and only methods with one request message have
// one (a client stream has no request to read it from).

#include "services/server/access_table.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "services/server/service_catalog.h"

namespace percore::server {
namespace {

std::set<std::string> HostedMethodPaths() {
  std::string error;
  auto registrations = MakeServices({}, &error);
  EXPECT_TRUE(error.empty()) << error;
  std::set<std::string> paths;
  for (const auto& registration : registrations) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(registration->name());
    EXPECT_NE(service, nullptr) << registration->name();
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      paths.insert("/" + service->full_name() + "/" + service->method(i)->name());
    }
  }
  return paths;
}

TEST(AccessTableTest, EveryHostedMethodHasARule) {
  rpc::AccessPolicy policy = PercoreAccessPolicy();
  std::set<std::string> paths = HostedMethodPaths();
  EXPECT_GT(paths.size(), 30u);
  for (const std::string& path : paths) {
    EXPECT_NE(policy.Find(path), nullptr) << path << " has no access rule";
  }
  EXPECT_NE(policy.Find("/grpc.health.v1.Health/Check"), nullptr);
}

TEST(AccessTableTest, SelfRulesNameAStringFieldOfASingleRequest) {
  rpc::AccessPolicy policy = PercoreAccessPolicy();
  for (const std::string& path : HostedMethodPaths()) {
    const rpc::AccessRule* rule = policy.Find(path);
    if (rule == nullptr || rule->access != rpc::Access::kSelf) continue;
    std::string service = path.substr(1, path.rfind('/') - 1);
    const auto* method = google::protobuf::DescriptorPool::generated_pool()
                             ->FindServiceByName(service)
                             ->FindMethodByName(path.substr(path.rfind('/') + 1));
    ASSERT_NE(method, nullptr) << path;
    EXPECT_FALSE(method->client_streaming()) << path;
    const auto* field = method->input_type()->FindFieldByName(rule->field);
    ASSERT_NE(field, nullptr) << path << " has no field " << rule->field;
    EXPECT_EQ(field->cpp_type(), google::protobuf::FieldDescriptor::CPPTYPE_STRING) << path;
  }
}

TEST(AccessTableTest, EveryRuleNamesARealMethod) {
  rpc::AccessPolicy policy = PercoreAccessPolicy();  // kept: the loop reads into it
  for (const auto& [path, rule] : policy.rules()) {
    size_t slash = path.rfind('/');
    ASSERT_NE(slash, std::string::npos) << path;
    const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        path.substr(1, slash - 1));
    ASSERT_NE(service, nullptr) << path;
    EXPECT_NE(service->FindMethodByName(path.substr(slash + 1)), nullptr) << path;
  }
}

TEST(AccessTableTest, UnknownMethodsHaveNoRule) {
  EXPECT_EQ(PercoreAccessPolicy().Find("/user.v1.UserService/Nope"), nullptr);
}

}  // namespace
}  // namespace percore::server
