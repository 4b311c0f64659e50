#include "services/user/user_watch.h"

namespace percore::user {

bool UserWatch::Write(const SharedUserEvent& event) {
  // A reference to the shared bytes, not a copy.
  stream().WriteRaw(grpc::ByteBuffer(&event->bytes, 1));
  return event->deleted && one_user_;
}

}  // namespace percore::user
