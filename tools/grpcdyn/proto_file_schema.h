#pragma once
// Threading contract: see schema.h.
//
// A Schema from .proto files parsed at run time with protobuf's compiler::Importer, the way
// ghz's --proto/--import-paths and grpcurl's -proto/-import-path work. The import path list is:
// the given paths, then each file's own folder and the working directory (as ghz adds them),
// then /usr/include, where Debian's libprotobuf-dev keeps google/protobuf/*.proto.

#include <memory>
#include <string>
#include <vector>

#include "tools/grpcdyn/schema.h"

namespace percore::grpcdyn {

// Errors quote protobuf's parser: "file:line:column: message".
Result<std::unique_ptr<Schema>> LoadProtoFiles(const std::vector<std::string>& files,
                                               const std::vector<std::string>& import_paths);

}  // namespace percore::grpcdyn
