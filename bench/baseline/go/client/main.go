// grpcgo-client: GetUser calls from grpc-go's client (Debian's golang-google-grpc-dev, the
// library ghz is built on), for bench/security/callgrind_auth.py to measure what a reused token
// costs the server when the client's HPACK encoder indexes `authorization` (grpc-go's does:
// after the first call the token travels as a one-byte index into the dynamic table).
//
// Threading contract: -c goroutines share one ClientConn (one HTTP/2 connection), each making
// calls until -n calls were made in all; main waits for them.
//
// Prints "ok N" when all N calls answered OK; exits 1 on the first failed call.

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	pb "percore/bench/userpb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "the server")
	calls := flag.Int64("n", 1000, "calls in all")
	inFlight := flag.Int("c", 32, "calls in flight")
	token := flag.String("token", "", "sent as `authorization: Bearer TOKEN` with every call")
	id := flag.String("id", "", "the user to get")
	flag.Parse()

	conn, err := grpc.Dial(*addr, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpcgo-client:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := pb.NewUserServiceClient(conn)
	ctx := context.Background()
	if *token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	}
	var next, failed int64
	var wg sync.WaitGroup
	for i := 0; i < *inFlight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&next, 1) <= *calls {
				if _, err := client.GetUser(ctx, &pb.GetUserRequest{Id: *id}); err != nil {
					if atomic.AddInt64(&failed, 1) == 1 {
						fmt.Fprintln(os.Stderr, "grpcgo-client:", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		os.Exit(1)
	}
	fmt.Printf("ok %d\n", *calls)
}
