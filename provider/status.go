package provider

import (
	"fmt"
	"time"
)

// Status is the contract's payment status.
type Status string

// SubStatus refines a Status; only the pairs in validPairs exist.
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

var validPairs = map[Status][]SubStatus{
	StatusResolved: {SubResolved},
	StatusRejected: {SubProcessingError, SubRisky},
	StatusPending:  {SubPaymentWaiting},
}

// State is a (status, subStatus) pair. It can only be built from a valid
// pair, so a response can never carry RESOLVED/RISKY.
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

// NewState validates a pair.
func NewState(s Status, ss SubStatus) (State, error) {
	for _, ok := range validPairs[s] {
		if ok == ss {
			return State{s, ss}, nil
		}
	}
	return State{}, fmt.Errorf("provider: %q/%q is not a valid status pair", s, ss)
}

// ValidStatus reports whether s is one of the contract's statuses.
func ValidStatus(s Status) bool { _, ok := validPairs[s]; return ok }

// ValidSubStatus reports whether ss belongs to any status.
func ValidSubStatus(ss SubStatus) bool {
	for _, list := range validPairs {
		for _, v := range list {
			if v == ss {
				return true
			}
		}
	}
	return false
}

// Turkey has used a fixed UTC+3 since 2016; a fixed zone avoids depending
// on the host's tzdata for a format the contract fixes.
var contractZone = time.FixedZone("+03:00", 3*60*60)

// TimeLayout is ISO-8601 with milliseconds and the +03:00 offset.
const TimeLayout = "2006-01-02T15:04:05.000-07:00"

// FormatTime writes t as the contract's timestamps: 2026-11-22T14:05:09.123+03:00.
func FormatTime(t time.Time) string { return t.In(contractZone).Format(TimeLayout) }
