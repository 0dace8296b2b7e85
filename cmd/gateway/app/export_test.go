package app

// For the external tests (package app_test), which get their gateway
// from gatewaytest.
var (
	OtherBankKind   = otherBankKind
	OtherBankPrefix = otherBankPrefix
)
