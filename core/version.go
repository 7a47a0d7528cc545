package core

// Version is the release of oryguard this module belongs to, in the form of
// its tags (core/v0.1.0, adapters/gin/v0.1.0, ...): every oryguard module is
// released at one version. The guard sends it to Ory as
// "User-Agent: oryguard/<Version>". make release sets it.
const Version = "v0.1.0"

// userAgent is what the guard sends to Ory in User-Agent.
const userAgent = "oryguard/" + Version
