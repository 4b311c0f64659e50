// A reflection client percore did not write: grpc-go's own generated v1alpha client (Debian's
// grpc-go 1.33) over grpc-go's HTTP/2, and Go protobuf's protodesc to build the files it gets.
// Usage: reflection_go_client HOST:PORT. Lists the services, fetches the file of each on one
// stream, builds them all into a registry (every dependency must have come, each once), prints
// "SERVICE METHOD_COUNT" per service, then the error code of an unknown symbol, and checks that
// the stream ends OK after the half-close. Exits 1 on any failure.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, os.Args[1], grpc.WithInsecure(), grpc.WithBlock())
	check(err, "dial")
	defer conn.Close()
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	check(err, "open stream")
	ask := func(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
		check(stream.Send(req), "send")
		resp, err := stream.Recv()
		check(err, "recv")
		return resp
	}

	list := ask(&rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
	var names []string
	for _, s := range list.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	sort.Strings(names)
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	for _, name := range names {
		resp := ask(&rpb.ServerReflectionRequest{
			MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{
				FileContainingSymbol: name}})
		if e := resp.GetErrorResponse(); e != nil {
			check(fmt.Errorf("%d %s", e.GetErrorCode(), e.GetErrorMessage()), name)
		}
		for i, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			check(proto.Unmarshal(b, fd), "unmarshal")
			if seen[fd.GetName()] {
				if i > 0 { // only the requested file may come again
					check(fmt.Errorf("%s sent twice on one stream", fd.GetName()), name)
				}
				continue
			}
			seen[fd.GetName()] = true
			set.File = append(set.File, fd)
		}
	}
	files, err := protodesc.NewFiles(set)
	check(err, "build the files")
	for _, name := range names {
		d, err := files.FindDescriptorByName(protoreflect.FullName(name))
		check(err, "find "+name)
		service, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			check(fmt.Errorf("not a service"), name)
		}
		fmt.Printf("%s %d\n", name, service.Methods().Len())
	}

	unknown := ask(&rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{
			FileContainingSymbol: "no.such.Symbol"}})
	fmt.Printf("unknown %d\n", unknown.GetErrorResponse().GetErrorCode())
	check(stream.CloseSend(), "close send")
	if _, err := stream.Recv(); err != io.EOF {
		check(fmt.Errorf("want the stream to end OK, got %v", err), "end")
	}
}
