#pragma once
// Threading contract: a pure function over the bytes given; any thread.
//
// protobuf's JSON mapping (as json_codec.h prints it: proto3 JSON names, fields at their
// default printed, enums by name, 64-bit integers as strings, Timestamp as RFC 3339) written
// straight from a message's binary form, without protobuf's converter (which resolves the type
// into a google.protobuf.Type and builds a tree of the message for every call: most of a REST
// GET's instructions). It covers what the gateway's answers are made of; anything else it
// declines (returns false, `out` unspecified) and the caller prints with protobuf: floats,
// bytes, maps, oneofs (proto3 `optional` too), well-known types other than Timestamp, unknown
// or repeated singular fields, enum numbers without a name, a Timestamp out of range, and any
// string that is not plain ASCII (protobuf escapes some code points, checks UTF-8).
// tests/services/gateway/json_codec_wire_test.cc holds it equal to protobuf's printer.

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

namespace percore::gateway {

// Appends the JSON of the message of `type` serialized as `bytes` to `out`; false (and `out`
// holding a partial answer) when it declines.
bool AppendJsonFromWire(std::string_view bytes, const google::protobuf::Descriptor& type,
                        std::string& out);

}  // namespace percore::gateway
