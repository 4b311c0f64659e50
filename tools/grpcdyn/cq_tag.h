#pragma once
// Threading contract: see core/runtime/completion_tag.h.
//
// The tools tag their completion-queue operations exactly as the server does: the runtime's
// header-only CompletionTag (a function pointer and its object), under the names the tools use.

#include "core/runtime/completion_tag.h"

namespace percore::grpcdyn {

using CqTag = runtime::CompletionTag;
using runtime::OnTag;

}  // namespace percore::grpcdyn
