// grpcgo-baseline: user.v1.UserService served by grpc-go (Debian's golang-google-grpc-dev), the
// way a Go team writes it, for bench/run to compare percore-server against. Server reflection and
// health are registered. Serves until SIGTERM/SIGINT, then stops gracefully (cancelling what is
// left after --shutdown-grace) and exits 0.
//
// Threading contract: main only starts the server and waits for a signal; grpc-go runs every
// call on its own goroutine (GOMAXPROCS bounds the threads running Go code; bench/run sets 1).
//
// Prints "grpcgo-baseline listening on HOST:PORT" as its first stdout line once serving.

package main

import (
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// percore-server's and the C++ baseline's defaults (bench/baseline/server_settings.cc).
const (
	maxMessageBytes       = 4 * 1024 * 1024
	maxConcurrentStreams  = 1024
	maxConnectionAge      = 30 * time.Minute
	maxConnectionAgeGrace = 5 * time.Minute
	keepaliveMinPing      = 10 * time.Second
)

func main() {
	listen := flag.String("listen", "127.0.0.1:50053", "address to serve on (port 0 picks one)")
	grace := flag.Float64("shutdown-grace", 5, "seconds calls get after SIGTERM/SIGINT before they are cancelled")
	flag.Parse()
	if flag.NArg() != 0 || *grace < 0 || *grace > 3600 || math.IsNaN(*grace) {
		fmt.Fprintln(os.Stderr, "grpcgo-baseline: bad command line (try -help)")
		os.Exit(2)
	}

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpcgo-baseline: cannot listen on %s: %v\n", *listen, err)
		os.Exit(1)
	}
	server := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge: maxConnectionAge, MaxConnectionAgeGrace: maxConnectionAgeGrace}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinPing}),
	)
	registerUserService(server, newUserStore())
	healthpb.RegisterHealthServer(server, health.NewServer())
	reflection.Register(server)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- server.Serve(lis) }()

	host, port, _ := net.SplitHostPort(lis.Addr().String())
	fmt.Printf("grpcgo-baseline listening on %s\n", net.JoinHostPort(host, port))
	os.Stdout.Sync()
	fmt.Fprintf(os.Stderr, "grpcgo-baseline: %s, GOMAXPROCS %d\n", runtime.Version(), runtime.GOMAXPROCS(0))

	select {
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "grpcgo-baseline: %v, shutting down\n", sig)
	case err := <-served:
		fmt.Fprintf(os.Stderr, "grpcgo-baseline: serve: %v\n", err)
		os.Exit(1)
	}
	stopped := make(chan struct{})
	go func() {
		server.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(time.Duration(*grace * float64(time.Second))):
		server.Stop() // cancels the calls still running and closes every connection
		<-stopped
	}
	fmt.Fprintln(os.Stderr, "grpcgo-baseline: stopped")
}
