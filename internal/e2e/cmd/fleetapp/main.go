// Command fleetapp is one app instance of oryguard's fleet tests and
// benchmarks (see package fleet).
package main

import (
	"fmt"
	"os"

	"github.com/oryguard/oryguard/internal/e2e/fleet"
)

func main() {
	if err := fleet.Main(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
