// Threading contract: every method from any goroutine. Reads share a sync.RWMutex, creates take
// it exclusively: the store a Go gRPC service is usually written over.
//
// Users by id in a map, plus their ids in ascending order (ids are time-ordered UUIDv7s made under
// the write lock, so appending keeps the slice sorted), so ListUsers pages are ranges of ascending
// ids like the C++ baseline's std::map. Stored users are never changed after Create, so pages
// hand out the stored pointers and grpc-go marshals them outside the lock.

package main

import (
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	userpb "percore/bench/userpb"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

type userStore struct {
	mu    sync.RWMutex
	users map[string]*userpb.User // guarded by mu
	ids   []string                // guarded by mu; ascending
	gen   uuidV7                  // guarded by mu (exclusive)
}

func newUserStore() *userStore {
	return &userStore{users: make(map[string]*userpb.User), gen: newUUIDV7()}
}

// create checks as much as seeding needs (INVALID_ARGUMENT for an empty name or an email
// without '@') and stores a new user with a time-ordered id and created_at == updated_at == now.
func (s *userStore) create(req *userpb.CreateUserRequest) (*userpb.User, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name must not be empty")
	}
	if !strings.Contains(req.GetEmail(), "@") {
		return nil, status.Error(codes.InvalidArgument, "email must contain '@'")
	}
	now := time.Now()
	ts := timestamppb.New(now)
	u := &userpb.User{
		Name:      req.GetName(),
		Email:     req.GetEmail(),
		Roles:     append([]string(nil), req.GetRoles()...),
		CreatedAt: ts,
		UpdatedAt: timestamppb.New(now),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The id is made under the same lock as the insert: a reader never sees a later id without
	// every earlier one, so paging by "ids above the last one sent" skips nobody.
	u.Id = s.gen.next(now)
	s.users[u.Id] = u
	s.ids = append(s.ids, u.Id)
	return u, nil
}

// get answers NOT_FOUND when no user has `id`.
func (s *userStore) get(id string) (*userpb.User, error) {
	s.mu.RLock()
	u, ok := s.users[id]
	s.mu.RUnlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no user with id %q", id)
	}
	return u, nil
}

// list returns the users with ids above `token` (all when empty), ascending, at most pageSize
// of them (0: defaultPageSize; capped at maxPageSize; negative: INVALID_ARGUMENT), and the next
// page's token: the last id sent when more follow, "" on the last page.
func (s *userStore) list(pageSize int32, token string) ([]*userpb.User, string, error) {
	if pageSize < 0 {
		return nil, "", status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	limit := int(pageSize)
	if limit == 0 {
		limit = defaultPageSize
	} else if limit > maxPageSize {
		limit = maxPageSize
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	start := 0
	if token != "" {
		start = upperBound(s.ids, token)
	}
	end := start + limit
	if end > len(s.ids) {
		end = len(s.ids)
	}
	page := make([]*userpb.User, 0, end-start)
	for _, id := range s.ids[start:end] {
		page = append(page, s.users[id])
	}
	next := ""
	if end < len(s.ids) && len(page) > 0 {
		next = page[len(page)-1].Id
	}
	return page, next, nil
}

// upperBound is the index of the first id greater than `token`.
func upperBound(ids []string, token string) int {
	lo, hi := 0, len(ids)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ids[mid] <= token {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
