package oryconnect

import "google.golang.org/protobuf/reflect/protoreflect"

// ServiceProcedures lists the full procedure names of services'
// methods ("/package.Service/Method"), for Validate. Generated code exposes
// a file's services as File_<name>_proto.Services().
func ServiceProcedures(services protoreflect.ServiceDescriptors) []string {
	var out []string
	for i := range services.Len() {
		svc := services.Get(i)
		methods := svc.Methods()
		for j := range methods.Len() {
			out = append(out, "/"+string(svc.FullName())+"/"+string(methods.Get(j).Name()))
		}
	}
	return out
}
