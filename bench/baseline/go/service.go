// Threading contract: grpc-go calls every method on its own goroutine, many at once; only the
// store is shared, and it locks.
//
// user.v1.UserService the way a Go team writes it: a struct implementing the generated server
// interface over the store. CreateUser, GetUser and ListUsers are served; the embedded
// UnimplementedUserServiceServer answers UNIMPLEMENTED for UpdateUser, DeleteUser and
// WatchUserUpdates, as the C++ baseline does.

package main

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	userpb "percore/bench/userpb"
)

type userService struct {
	userpb.UnimplementedUserServiceServer
	store *userStore
}

func (s *userService) CreateUser(_ context.Context, req *userpb.CreateUserRequest) (*userpb.User, error) {
	return s.store.create(req)
}

func (s *userService) GetUser(_ context.Context, req *userpb.GetUserRequest) (*userpb.User, error) {
	return s.store.get(req.GetId())
}

// ListUsers streams one page (copied out under the read lock, then sent one message per user)
// and, when more users follow, ends with the next page's token in the "next-page-token"
// trailer.
func (s *userService) ListUsers(req *userpb.ListUsersRequest, stream userpb.UserService_ListUsersServer) error {
	page, next, err := s.store.list(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return err
	}
	for _, u := range page {
		if err := stream.Send(u); err != nil {
			return err // the stream is gone (client went away or cancelled)
		}
	}
	if next != "" {
		stream.SetTrailer(metadata.Pairs("next-page-token", next))
	}
	return nil
}

func registerUserService(s *grpc.Server, store *userStore) {
	userpb.RegisterUserServiceServer(s, &userService{store: store})
}
