// Package harness starts the real services oryguard's end-to-end tests,
// benchmarks and demo run against, each on free loopback ports, and nothing
// else:
//
//   - Ory Kratos (StartKratos, StartKratosT; NewSharedKratos for one server
//     per test binary), with helpers that create users and sessions through
//     Kratos' own self-service flows, the way a browser or a native app gets
//     them (RegisterBrowser, LoginAPI, EnableTOTP, ...);
//   - Redis (StartRedis, StartRedisT): Debian's redis-server, for the shared
//     session tier;
//   - Ory Keto (StartKeto, StartKetoT), with an in-memory store and the
//     namespaces documents and groups, for permission checks; tuples are
//     written and deleted through its write API (WriteTuples, DeleteTuples).
//
// The Kratos binary (v1.3.1) is built from the pinned tool module
// internal/tools/kratos by `make kratos` into <repo>/.cache/bin/kratos;
// $ORYGUARD_KRATOS_BIN (KratosBinaryEnv) overrides it. Keto (v0.13.0-alpha.0)
// is built the same way by `make keto` from internal/tools/keto into
// <repo>/.cache/bin/keto; $ORYGUARD_KETO_BIN (KetoBinaryEnv) overrides it.
//
// Kratos listens on 127.0.0.1 only, in dev mode (cookies without the Secure
// flag, so they work over plain http), with telemetry and the
// haveibeenpwned lookup switched off, so nothing leaves the machine. The
// configuration (config/kratos.yml.tmpl) enables the password and TOTP
// methods and sets session.whoami.required_aal to highest_available.
//
// Behaviour of Kratos v1.3.1 that the helpers deal with:
//   - With dsn "memory", `kratos serve` runs the migrations itself on every
//     start, and all data is gone when the process ends (and on Restart).
//     KratosOptions.Persistent uses a SQLite file instead and runs
//     `kratos migrate sql` once before the first start.
//   - Registration is two-step by default since v1.3; the configuration sets
//     enable_legacy_one_step so one POST with traits and password suffices.
//   - A browser (JSON) login of an identity with a second factor sets the
//     aal1 session cookie but answers 422 browser_location_change_required
//     with redirect_browser_to pointing at the aal=aal2 login, and without
//     the session; LoginBrowser finds the session through the admin API.
//   - Enabling TOTP in the settings flow upgrades the session that did it to
//     aal2; later password logins of the identity are aal1.
package harness
