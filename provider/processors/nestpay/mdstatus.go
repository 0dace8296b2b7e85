package nestpay

// mdStatus is the bank's verdict on the 3-D Secure authentication, sent
// back with the shopper. Only these values may go on to the provision; any
// other, or none, ends the payment declined.
var mdStatusProceeds = map[string]string{
	"1": "authenticated",
	"2": "card not enrolled: attempt accepted",
	"3": "issuer not enrolled: attempt accepted",
	"4": "attempt: issuer's ACS answered without authentication",
}

// mdStatusRefused names the values that end the payment, for its detail.
var mdStatusRefused = map[string]string{
	"0": "authentication failed",
	"5": "authentication could not be verified",
	"6": "3-D Secure error",
	"7": "system error",
	"8": "unknown card",
}

func mdStatusDetail(v string) string {
	if d, ok := mdStatusProceeds[v]; ok {
		return d
	}
	if d, ok := mdStatusRefused[v]; ok {
		return d
	}
	return "unknown mdStatus"
}
