package provider

import "time"

// Status is the contract's payment status.
type Status string

// SubStatus refines a Status; only the four pairs below exist.
type SubStatus string

const (
	StatusResolved Status = "RESOLVED"
	StatusRejected Status = "REJECTED"
	StatusPending  Status = "PENDING"

	SubResolved        SubStatus = "RESOLVED"
	SubProcessingError SubStatus = "PROCESSING_ERROR"
	SubRisky           SubStatus = "RISKY"
	SubPaymentWaiting  SubStatus = "PAYMENT_WAITING"
)

// State is a (status, subStatus) pair. The service answers only with the
// four below, so a response can never carry RESOLVED/RISKY.
type State struct {
	Status    Status
	SubStatus SubStatus
}

// The four states the contract allows, and the one Rejected variant.
var (
	Resolved        = State{StatusResolved, SubResolved}
	Waiting         = State{StatusPending, SubPaymentWaiting}
	ProcessingError = State{StatusRejected, SubProcessingError}
	Risky           = State{StatusRejected, SubRisky}
)

// Turkey has used a fixed UTC+3 since 2016; a fixed zone avoids depending
// on the host's tzdata for a format the contract fixes.
var contractZone = time.FixedZone("+03:00", 3*60*60)

// TimeLayout is ISO-8601 with milliseconds and the +03:00 offset.
const TimeLayout = "2006-01-02T15:04:05.000-07:00"

// FormatTime writes t as the contract's timestamps: 2026-11-22T14:05:09.123+03:00.
func FormatTime(t time.Time) string { return t.In(contractZone).Format(TimeLayout) }
