// Package release holds what oryguard's releases rest on: finding the
// repository's modules, reading and setting the one version they share,
// packing the library modules into a file-based module proxy with real
// module zips, comparing exported APIs with the previous release, and the
// steps of make release. Its tests include the go get check: from a fresh
// module outside the repository, go get each adapter at the current version
// from the packed proxy, build the README's snippet for it and serve
// requests through it against the fake Ory.
package release
