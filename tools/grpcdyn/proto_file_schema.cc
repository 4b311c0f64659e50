#include "tools/grpcdyn/proto_file_schema.h"

#include <google/protobuf/compiler/importer.h>

#include <algorithm>
#include <filesystem>

namespace percore::grpcdyn {
namespace {

using google::protobuf::compiler::DiskSourceTree;

class CollectErrors : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!text_.empty()) text_ += "\n  ";
    // The parser counts from 0; editors count from 1.
    text_ += filename + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
             message;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class ProtoFileSchema : public Schema {
 public:
  ProtoFileSchema() : importer_(&tree_, &errors_) {}

  Status Load(const std::vector<std::string>& files, const std::vector<std::string>& paths) {
    for (const std::string& path : paths) tree_.MapPath("", path);
    for (const std::string& file : files) {
      std::string folder = std::filesystem::path(file).parent_path().string();
      tree_.MapPath("", folder.empty() ? "." : folder);
    }
    tree_.MapPath("", ".");
    tree_.MapPath("", "/usr/include");
    for (const std::string& file : files) {
      if (!std::filesystem::is_regular_file(file)) {
        return Error{"cannot read proto file '" + file + "'"};
      }
      std::string virtual_file;
      std::string shadow;
      auto found = tree_.DiskFileToVirtualFile(file, &virtual_file, &shadow);
      if (found == DiskSourceTree::SHADOWED) {
        return Error{"proto file '" + file + "' is shadowed by '" + shadow +
                     "' earlier in the import paths"};
      }
      if (found != DiskSourceTree::SUCCESS) {
        return Error{"cannot read proto file '" + file + "'"};
      }
      const google::protobuf::FileDescriptor* descriptor = importer_.Import(virtual_file);
      if (descriptor == nullptr) {
        return Error{"cannot parse '" + file + "':\n  " + errors_.text()};
      }
      files_.push_back(descriptor);
    }
    return OkStatus();
  }

  const google::protobuf::DescriptorPool& pool() const override { return *importer_.pool(); }

  Result<std::vector<std::string>> ListServices() override {
    std::vector<std::string> names;
    for (const auto* file : files_) {
      for (int i = 0; i < file->service_count(); ++i) {
        names.push_back(file->service(i)->full_name());
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  std::string SourceName() const override { return "the proto files"; }

 private:
  // Declared before the importer, which keeps pointers to both.
  DiskSourceTree tree_;
  CollectErrors errors_;
  google::protobuf::compiler::Importer importer_;
  std::vector<const google::protobuf::FileDescriptor*> files_;
};

}  // namespace

Result<std::unique_ptr<Schema>> LoadProtoFiles(const std::vector<std::string>& files,
                                               const std::vector<std::string>& import_paths) {
  auto schema = std::make_unique<ProtoFileSchema>();
  if (Status loaded = schema->Load(files, import_paths); !loaded.ok()) {
    return std::move(loaded).TakeError();
  }
  return std::unique_ptr<Schema>(std::move(schema));
}

}  // namespace percore::grpcdyn
