// Package rpc runs the gRPC and Connect adapters (adapters/grpc,
// adapters/connect) against a real Kratos: a native client signs up
// through the API flow and calls a unary and a server-streaming method with
// its session token over real gRPC (loopback, plaintext) and over Connect
// (HTTP/1.1 and HTTP/2 without TLS); a method that needs aal2 answers
// PermissionDenied with the step-up detail; a browser's session cookie
// (among other cookies) works over gRPC metadata and a Connect JSON call;
// unrelated metadata never reaches Kratos; after a logout through Ory's
// API the next call is Unauthenticated (and a stream opened before it, on a
// server that re-checks streams, ends Unauthenticated), and with Kratos
// stopped it is Unavailable.
package rpc
