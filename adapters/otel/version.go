package oryotel

// Version is the instrumentation version reported with the meter and the
// tracer.
const Version = "0.1.0"
