// Package webhook tells Akinon about changes it did not ask for. Events
// wait in the store's outbox (written atomically with the change), and
// the Sender delivers them at least once: claimed with a lease so several
// replicas never send the same attempt, retried on the configured
// schedule with jitter, parked as dead letters at the end, which the
// operator endpoints list and replay.
package webhook
