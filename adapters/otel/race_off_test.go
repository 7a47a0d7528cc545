//go:build !race

package oryotel_test

const raceEnabled = false
