#pragma once
// Threading contract: pure functions (ReadDataArgument reads a file or stdin).
//
// What -d/--data means in ghz and grpcurl: literal JSON, "@file", or "@" / "-" for stdin; a JSON
// object is one request message, a JSON array is a list of them (round-robin over calls for
// unary and server-streaming methods, the messages of each stream for client and bidi streams).

#include <string>
#include <string_view>
#include <vector>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

// The JSON text a -d argument stands for.
Result<std::string> ReadDataArgument(std::string_view argument);
// The whole file, or stdin for "-" (for -D/--data-file and -M/--metadata-file).
Result<std::string> ReadFileArgument(std::string_view path);

struct RequestData {
  // One JSON object text per message, in order.
  std::vector<std::string> messages;
  bool was_array = false;
};

// Checks the syntax (errors say where it broke) and splits an array into its elements. An
// empty text means one empty message, as in grpcurl.
Result<RequestData> SplitRequestData(std::string_view json_text);

}  // namespace percore::grpcdyn
