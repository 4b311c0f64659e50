#include "tools/grpcdyn/reflection_schema.h"

#include "tools/grpcdyn/reflection_database.h"

namespace percore::grpcdyn {
namespace {

// Files the server sends may fail to build (a dependency it cannot serve); the pool reports
// that here instead of through protobuf's global log.
class CollectBuildErrors : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    text_ += filename + ": " + element_name + ": " + message;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class ReflectionSchema : public Schema {
 public:
  ReflectionSchema(std::shared_ptr<grpc::Channel> channel, std::chrono::nanoseconds timeout)
      : database_(std::move(channel), timeout), pool_(&database_, &errors_) {}

  const google::protobuf::DescriptorPool& pool() const override { return pool_; }
  Result<std::vector<std::string>> ListServices() override { return database_.ListServices(); }
  std::string SourceError() const override {
    if (!database_.transport_error().empty()) return database_.transport_error();
    if (!errors_.text().empty()) return "the server's descriptors do not build: " + errors_.text();
    return {};
  }
  std::string SourceName() const override { return "the server (reflection)"; }

 private:
  // Declared before the pool, which keeps pointers to both.
  ReflectionDatabase database_;
  CollectBuildErrors errors_;
  google::protobuf::DescriptorPool pool_;
};

}  // namespace

std::unique_ptr<Schema> MakeReflectionSchema(std::shared_ptr<grpc::Channel> channel,
                                             std::chrono::nanoseconds timeout) {
  return std::make_unique<ReflectionSchema>(std::move(channel), timeout);
}

}  // namespace percore::grpcdyn
