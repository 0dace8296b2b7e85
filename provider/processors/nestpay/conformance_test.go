package nestpay_test

import (
	"os"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybank"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/processortest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nestpaybanktest.Remove()
	redistest.Stop()
	os.Exit(code)
}

// startBank runs the fake bank as its own process on a free port, its
// books in the shared test Redis under a prefix of its own.
func startBank(t *testing.T) (*nestpaybanktest.Bank, *nestpay.Processor, *nestpaybank.Books, func(*testing.T) []string) {
	t.Helper()
	srv := redistest.Shared(t)
	store := nestpaybanktest.Store{ClientID: "100200300", StoreKey: "TEST|key\\1234", APIUser: "api",
		APIPassword: "api-secret", Prefix: redistest.Prefix(t) + ":nestpaybank"}
	bank := nestpaybanktest.Start(t, srv.URL(), store)
	p, err := nestpay.New(nestpay.Settings{ClientID: store.ClientID, StoreKey: store.StoreKey, APIUser: store.APIUser,
		APIPassword: store.APIPassword, GateURL: bank.GateURL, APIURL: bank.APIURL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rdb := srv.Client(t)
	return bank, p, nestpaybank.NewBooks(rdb, store.Prefix), processortest.StoredValues(rdb, store.Prefix+":")
}

type faults struct{ bank *nestpaybanktest.Bank }

func (f faults) Slow(t *testing.T, d time.Duration) {
	f.bank.SetFaults(t, nestpaybanktest.Faults{Slow: d})
}
func (f faults) DropAfterActing(t *testing.T) {
	f.bank.SetFaults(t, nestpaybanktest.Faults{DropAfterActing: true})
}
func (f faults) Reset(t *testing.T) { f.bank.SetFaults(t, nestpaybanktest.Faults{}) }

func TestConformance(t *testing.T) {
	bank, p, books, stored := startBank(t)
	processortest.Run(t, processortest.Kit{
		Processor: p,
		Books:     books,
		Cards: processortest.Cards{Approve: nestpaybank.CardApproved, Decline: nestpaybank.CardDeclined,
			Frictionless: nestpaybank.CardFrictionless, Challenge: nestpaybank.CardChallenge, NotEnrolled: nestpaybank.CardNotEnrolled},
		ChallengeCode: nestpaybank.ChallengeCode,
		Currency:      "TRY",
		Faults:        faults{bank},
		Stored:        stored,
	})
}

var _ provider.Completer = (*nestpay.Processor)(nil)
