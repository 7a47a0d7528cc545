package oryconnect_test

import (
	"slices"
	"testing"

	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	_ "google.golang.org/protobuf/types/known/emptypb" // registers google/protobuf/empty.proto
)

func TestServiceProcedures(t *testing.T) {
	empty := ".google.protobuf.Empty"
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:       proto.String("bank/v1/bank.proto"),
		Package:    proto.String("bank.v1"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{
			{Name: proto.String("Bank"), Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("Balance"), InputType: &empty, OutputType: &empty},
				{Name: proto.String("Transfer"), InputType: &empty, OutputType: &empty},
			}},
			{Name: proto.String("Audit"), Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("Log"), InputType: &empty, OutputType: &empty},
			}},
		},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	got := oryconnect.ServiceProcedures(fd.Services())
	want := []string{"/bank.v1.Bank/Balance", "/bank.v1.Bank/Transfer", "/bank.v1.Audit/Log"}
	if !slices.Equal(got, want) {
		t.Errorf("ServiceProcedures = %q, want %q", got, want)
	}
}
