package core

// BackoffProbesPerSecond is how many whoami lookups the guard lets through
// per second while it honours a 429 from Ory (Retry-After, at most a
// minute): every other lookup meanwhile is answered 429 without asking
// Ory, and cached sessions are served as usual. The first probe that Ory
// answers with anything but 429 (a session, 401, 403) ends the backoff for
// everyone; one answered 429 renews it with its own Retry-After.
//
// A 429 says nothing about the client that received it (Ory counts whoami
// per project, and anyone can call Ory's public whoami), so one burst of
// junk credentials must not lock every user out for the whole Retry-After:
// with probes, users whose sessions Ory would answer get through again
// within about a second of Ory answering again, while the guard adds no
// more than this trickle to Ory's load. Put a per-client rate limiter in
// front of the guard so that one client cannot spend the project's whoami
// budget in the first place (see README).
const BackoffProbesPerSecond = 2
