// ReflectionAnswers over a pool of its own: what the server's pool cannot show because no linked
// .proto declares extensions (file_containing_extension and all_extension_numbers_of_type that
// find something, a nested extension as a symbol), and the per-stream file memory.

#include "services/reflection/reflection_answers.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "services/reflection/reflection_versions.h"

namespace percore::reflection {
namespace {

namespace pb = google::protobuf;

constexpr char kBase[] = R"pb(
  name: "t/base.proto"
  package: "t"
  syntax: "proto2"
  message_type {
    name: "Base"
    field { name: "a" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    extension_range { start: 100 end: 200 }
  }
)pb";
constexpr char kExt[] = R"pb(
  name: "t/ext.proto"
  package: "t"
  syntax: "proto2"
  dependency: "t/base.proto"
  extension { name: "x" number: 100 label: LABEL_OPTIONAL type: TYPE_INT32 extendee: ".t.Base" }
  message_type {
    name: "Holder"
    extension { name: "y" number: 150 label: LABEL_OPTIONAL type: TYPE_STRING extendee: ".t.Base" }
  }
)pb";

class ReflectionAnswersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* text : {kBase, kExt}) {
      pb::FileDescriptorProto file;
      ASSERT_TRUE(pb::TextFormat::ParseFromString(text, &file));
      ASSERT_NE(pool_.BuildFile(file), nullptr) << file.name();
    }
  }

  ReflectionAnswers Answers() {
    return ReflectionAnswers(std::make_shared<const std::vector<std::string>>(
                                 std::vector<std::string>{"t.S", "grpc.reflection.v1.X"}),
                             &pool_);
  }

  static std::vector<std::string> Files(const V1::Response& response) {
    std::vector<std::string> names;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  static V1::Request Extension(const std::string& type, int number) {
    V1::Request request;
    request.mutable_file_containing_extension()->set_containing_type(type);
    request.mutable_file_containing_extension()->set_extension_number(number);
    return request;
  }

  pb::DescriptorPool pool_;
};

TEST_F(ReflectionAnswersTest, FileContainingExtensionSendsItsFileAndDependencies) {
  ReflectionAnswers answers = Answers();
  V1::Response top = answers.Answer<V1>(Extension("t.Base", 100));
  EXPECT_EQ(Files(top), (std::vector<std::string>{"t/ext.proto", "t/base.proto"}));
  // The nested one is in the same file; base.proto went out on this stream already.
  V1::Response nested = answers.Answer<V1>(Extension("t.Base", 150));
  EXPECT_EQ(Files(nested), (std::vector<std::string>{"t/ext.proto"}));
  EXPECT_EQ(answers.files_sent(), 2u);
}

TEST_F(ReflectionAnswersTest, UnknownExtensionOrTypeIsNotFound) {
  ReflectionAnswers answers = Answers();
  V1::Response number = answers.Answer<V1>(Extension("t.Base", 101));
  EXPECT_EQ(number.error_response().error_code(), static_cast<int>(StatusCode::kNotFound));
  EXPECT_NE(number.error_response().error_message().find("101"), std::string::npos);
  V1::Response type = answers.Answer<V1>(Extension("t.Nothing", 100));
  EXPECT_EQ(type.error_response().error_code(), static_cast<int>(StatusCode::kNotFound));
  EXPECT_EQ(answers.files_sent(), 0u);
}

TEST_F(ReflectionAnswersTest, AllExtensionNumbersOfType) {
  ReflectionAnswers answers = Answers();
  V1Alpha::Request request;
  request.set_all_extension_numbers_of_type("t.Base");
  V1Alpha::Response response = answers.Answer<V1Alpha>(request);
  ASSERT_TRUE(response.has_all_extension_numbers_response());
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "t.Base");
  std::vector<int> numbers(response.all_extension_numbers_response().extension_number().begin(),
                           response.all_extension_numbers_response().extension_number().end());
  std::sort(numbers.begin(), numbers.end());
  EXPECT_EQ(numbers, (std::vector<int>{100, 150}));
  EXPECT_EQ(response.original_request().all_extension_numbers_of_type(), "t.Base");
}

TEST_F(ReflectionAnswersTest, NestedExtensionIsASymbol) {
  ReflectionAnswers answers = Answers();
  V1::Request request;
  request.set_file_containing_symbol("t.Holder.y");
  EXPECT_EQ(Files(answers.Answer<V1>(request)),
            (std::vector<std::string>{"t/ext.proto", "t/base.proto"}));
}

TEST_F(ReflectionAnswersTest, ListServicesAnswersTheNamesGiven) {
  ReflectionAnswers answers = Answers();
  V1::Request request;
  request.set_host("h");
  request.set_list_services("");
  V1::Response response = answers.Answer<V1>(request);
  EXPECT_EQ(response.valid_host(), "h");
  ASSERT_EQ(response.list_services_response().service_size(), 2);
  EXPECT_EQ(response.list_services_response().service(0).name(), "t.S");
}

}  // namespace
}  // namespace percore::reflection
