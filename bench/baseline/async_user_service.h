#pragma once
// Threading contract: types only; the service object must outlive the server it is registered
// with.
//
// The generated service types async and ceiling mode register. Only the three served methods
// are async: UpdateUser, DeleteUser and WatchUserUpdates are marked generic, so they reach the
// async generic service, which answers UNIMPLEMENTED (AsyncUnimplementedCall), instead of
// waiting for a request that is never posted, as they would under gRPC's plain AsyncService.

#include "user/v1/user.grpc.pb.h"

namespace percore::baseline {

using UserServiceApi = user::v1::UserService;

using AsyncUserService = UserServiceApi::WithAsyncMethod_CreateUser<
    UserServiceApi::WithAsyncMethod_GetUser<UserServiceApi::WithAsyncMethod_ListUsers<
        UserServiceApi::WithGenericMethod_UpdateUser<UserServiceApi::WithGenericMethod_DeleteUser<
            UserServiceApi::WithGenericMethod_WatchUserUpdates<UserServiceApi::Service>>>>>>;

// GetUser raw (grpc::ByteBuffer in and out) so the ceiling can answer prebuilt bytes; still an
// AsyncUserService for CreateUser and ListUsers.
using CeilingUserService = UserServiceApi::WithRawMethod_GetUser<AsyncUserService>;

// The stream ceiling: ListUsers raw as well, so it can stream prebuilt bytes.
using StreamCeilingUserService = UserServiceApi::WithRawMethod_ListUsers<CeilingUserService>;

}  // namespace percore::baseline
