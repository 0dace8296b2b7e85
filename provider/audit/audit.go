// Package audit is the ledger audit: it compares every order the gateway
// holds with the bank's books, reference by reference, and finds anything
// held past its deadline. Every fault test ends with it. It reads the
// store through Orders and the bank through provider.Books, which the
// sandbox offers and a bank's connector can (from its settlement file).
//
// For each order it checks:
//   - the session's payment against the bank's account of it: authorised
//     exactly when the bank holds it, for the same amount; captured,
//     refunded and voided the same on both sides;
//   - every purchase, void and refund step against the bank's record of
//     its reference: RESOLVED exactly when the bank approved it, and no
//     approved operation at the bank without its step;
//   - sessions the order replaced or that failed hold nothing at the bank;
//   - nothing is in doubt past its deadline plus the slack given (the
//     reconciler's interval), and no hold or reservation lacks its entry
//     in the doubt set.
package audit

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// Orders is what the audit reads of the gateway's store; the Redis store
// offers it.
type Orders interface {
	Doubts(ctx context.Context) ([]provider.Doubt, error)
	EachOrder(ctx context.Context, fn func(merchant, order string) error) error
	Order(ctx context.Context, merchant, orderID string) (*provider.Session, error)
	Steps(ctx context.Context, merchant, order string) ([]provider.Step, error)
}

// Difference is one disagreement between the gateway and the bank, or one
// thing held too long.
type Difference struct {
	Merchant string
	OrderID  string
	What     string
}

func (d Difference) String() string { return d.Merchant + "/" + d.OrderID + ": " + d.What }

// Report counts what the audit looked at.
type Report struct {
	Orders      int
	Operations  int // purchase, void and refund steps
	Payments    int // sessions with a payment at the bank
	InDoubt     int // entries in the doubt set, within their deadline
	Differences []Difference
}

// Run audits the whole store against the bank at now. slack is how long
// past its deadline an entry may still be in doubt: the reconciler's
// interval.
func Run(ctx context.Context, store Orders, bank provider.Books, now time.Time, slack time.Duration) (Report, error) {
	var rep Report
	doubts, err := store.Doubts(ctx)
	if err != nil {
		return rep, err
	}
	held := map[string]bool{} // kind, merchant, order, id; and the references of operations in doubt
	for _, d := range doubts {
		held[string(d.Kind)+"\n"+d.Merchant+"\n"+d.OrderID+"\n"+d.ID] = true
		if d.Kind == provider.DoubtOperation {
			held[provider.OperationReference(d.Merchant, d.OrderID, d.Action, d.ID)] = true
		}
		if now.After(d.Deadline.Add(slack)) {
			rep.Differences = append(rep.Differences, Difference{d.Merchant, d.OrderID,
				fmt.Sprintf("%s %s %s still in doubt %s past its deadline", d.Kind, d.Action, d.ID, now.Sub(d.Deadline).Round(time.Millisecond))})
		} else {
			rep.InDoubt++
		}
	}
	err = store.EachOrder(ctx, func(merchant, order string) error {
		o, err := check(ctx, store, bank, merchant, order, held)
		rep.Orders++
		rep.Operations += o.operations
		rep.Payments += o.payments
		rep.Differences = append(rep.Differences, o.diffs...)
		return err
	})
	sort.Slice(rep.Differences, func(i, j int) bool { return rep.Differences[i].String() < rep.Differences[j].String() })
	return rep, err
}

type orderAudit struct {
	operations, payments int
	diffs                []Difference
}

// orderCheck is one order's audit under way.
type orderCheck struct {
	orderAudit
	merchant, order string
	held            map[string]bool
	sess            *provider.Session
	acct            provider.Account
}

func (c *orderCheck) bad(format string, args ...any) {
	c.diffs = append(c.diffs, Difference{c.merchant, c.order, fmt.Sprintf(format, args...)})
}

// inDoubt says whether the doubt set holds an entry of kind for id.
func (c *orderCheck) inDoubt(kind provider.DoubtKind, id string) bool {
	return c.held[string(kind)+"\n"+c.merchant+"\n"+c.order+"\n"+id]
}

func check(ctx context.Context, store Orders, bank provider.Books, merchant, order string, held map[string]bool) (orderAudit, error) {
	c := &orderCheck{merchant: merchant, order: order, held: held}
	sess, err := store.Order(ctx, merchant, order)
	if err != nil {
		return c.orderAudit, err
	}
	steps, err := store.Steps(ctx, merchant, order)
	if err != nil {
		return c.orderAudit, err
	}
	acct, err := bank.Account(ctx, provider.PaymentReference(sess.ID))
	if err != nil {
		return c.orderAudit, err
	}
	c.sess, c.acct = sess, acct
	if acct.State != "" {
		c.payments++
	}
	c.payment()
	c.amounts()
	c.holds()
	err = c.steps(ctx, bank, steps)
	return c.orderAudit, err
}

// payment holds the session's phase to the bank's payment.
func (c *orderCheck) payment() {
	sess, acct := c.sess, c.acct
	paid := sess.Phase == provider.PhaseAuthorised || sess.Phase == provider.PhasePurchased || sess.Phase == provider.PhaseVoided
	bankHolds := acct.State == "authorised" || acct.State == "voided"
	switch {
	case sess.Phase == provider.PhasePaying:
		if !c.inDoubt(provider.DoubtPayment, sess.ID) {
			c.bad("session %s is PAYING with no entry in the doubt set", sess.ID)
		}
	case sess.Phase == provider.PhasePending:
		if acct.State != "pending" && acct.State != "authorised" && acct.State != "rejected" {
			c.bad("session %s is PENDING, the bank's payment is %q", sess.ID, acct.State)
		}
	case paid != bankHolds:
		c.bad("session %s is %s, the bank's payment is %q", sess.ID, sess.Phase, acct.State)
	case paid && sess.Authorised != acct.Authorised:
		c.bad("authorised %s here, %s at the bank", sess.Authorised, acct.Authorised)
	}
}

// amounts holds what was captured, refunded and voided to the bank's.
func (c *orderCheck) amounts() {
	sess, acct := c.sess, c.acct
	if sess.Captured != acct.Captured {
		c.bad("captured %s here, %s at the bank", sess.Captured, acct.Captured)
	}
	if sess.Refunded != acct.Refunded {
		c.bad("refunded %s here, %s at the bank", sess.Refunded, acct.Refunded)
	}
	if (sess.Phase == provider.PhaseVoided) != (acct.State == "voided") {
		c.bad("session %s is %s, the bank's payment is %q", sess.ID, sess.Phase, acct.State)
	}
}

// holds: holds and reservations are in the doubt set until settled.
func (c *orderCheck) holds() {
	sess := c.sess
	if sess.Op != "" && !c.inDoubt(provider.DoubtOperation, sess.Op) {
		c.bad("order held by %s with no entry in the doubt set", sess.Op)
	}
	var reserved provider.Money
	for guid, m := range sess.Reservations {
		reserved += m
		if !c.inDoubt(provider.DoubtOperation, guid) {
			c.bad("refund %s reserved with no entry in the doubt set", guid)
		}
	}
	if reserved != sess.Reserved {
		c.bad("reserved %s, reservations add up to %s", sess.Reserved, reserved)
	}
}

// approvedOperations are the bank's approved operations on a payment
// (not its authorisation), by reference.
func approvedOperations(acct provider.Account) map[string]provider.BookEntry {
	approved := map[string]provider.BookEntry{}
	for _, e := range acct.Entries {
		if e.Outcome == string(provider.Approved) && e.Op != provider.OpAuthorise && e.Op != provider.OpAuthenticate {
			approved[e.Reference] = e
		}
	}
	return approved
}

// steps holds every operation step to the bank's record of its
// reference, and every session the order left behind to nothing held.
func (c *orderCheck) steps(ctx context.Context, bank provider.Books, steps []provider.Step) error {
	approved := approvedOperations(c.acct)
	stepped := map[string]bool{}
	for _, st := range steps {
		switch st.Type {
		case provider.ActionPurchase, provider.ActionVoid, provider.ActionRefund:
		case provider.ActionStart:
			if err := c.replaced(ctx, bank, st); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		c.operations++
		ref := provider.OperationReference(c.merchant, c.order, st.Type, st.GUID)
		stepped[ref] = true
		_, ok := approved[ref]
		if resolved := st.StatusCode == provider.StatusResolved; resolved != ok {
			c.bad("%s %s is %s here; approved at the bank: %v", st.Type, st.GUID, st.StatusCode, ok)
		}
	}
	for ref, e := range approved {
		if !stepped[ref] && !c.held[ref] {
			c.bad("the bank approved %s %s (%s) with no step here", e.Op, ref, e.Amount)
		}
	}
	return nil
}

// replaced checks that a session the order left behind holds nothing.
func (c *orderCheck) replaced(ctx context.Context, bank provider.Books, st provider.Step) error {
	if st.SessionID == c.sess.ID {
		return nil
	}
	old, err := bank.Account(ctx, provider.PaymentReference(st.SessionID))
	if err != nil {
		return err
	}
	if old.State == "authorised" || old.Captured > 0 {
		c.bad("replaced session %s is %s (%s) at the bank", st.SessionID, st.StatusCode, old.State)
	}
	return nil
}
