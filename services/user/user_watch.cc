#include "services/user/user_watch.h"

namespace percore::user {

bool UserWatch::Write(const SharedUserEvent& event) {
  stream().WriteRaw(event->bytes);  // a reference to the shared bytes, not a copy
  return event->deleted && one_user_;
}

}  // namespace percore::user
