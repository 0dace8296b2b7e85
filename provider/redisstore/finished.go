package redisstore

import (
	"hash/maphash"
	"sync"
)

// finishedGUIDs remembers the guids whose reply this replica stored or
// replayed, so that the next request for one, QA's replay, sends
// begin.lua only what a replay reads: the fingerprint and the token, not
// the session a new start-session would write (about 1.5 KB, and the
// work of encoding it). It is a hint and Redis stays the record: a guid
// it does not hold is sent whole, as before, and one it holds whose record
// has gone (expired) is answered "whole" by the script and sent again,
// one round trip more.
//
// Two generations of hashes bound its memory (16 bytes or so a guid):
// when the newer fills, the older is dropped, so a guid replayed now and
// then stays. A collision between two hashes costs that round trip, no
// more.
type finishedGUIDs struct {
	mu       sync.Mutex
	seed     maphash.Seed
	cur, old map[uint64]struct{}
	size     int // per generation
}

// finishedPerGeneration is how many guids a generation holds: two of
// them are about a megabyte.
const finishedPerGeneration = 32 << 10

func newFinishedGUIDs(size int) *finishedGUIDs {
	return &finishedGUIDs{seed: maphash.MakeSeed(), cur: make(map[uint64]struct{}), size: size}
}

// hash is a guid's (merchant, order, guid), without building its key.
func (f *finishedGUIDs) hash(merchant, order, guid string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(merchant)
	h.WriteByte(0)
	h.WriteString(order)
	h.WriteByte(0)
	h.WriteString(guid)
	return h.Sum64()
}

// has reports whether the guid was seen finished.
func (f *finishedGUIDs) has(merchant, order, guid string) bool {
	h := f.hash(merchant, order, guid)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cur[h]; ok {
		return true
	}
	_, ok := f.old[h]
	return ok
}

// add remembers the guid as finished.
func (f *finishedGUIDs) add(merchant, order, guid string) {
	h := f.hash(merchant, order, guid)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cur) >= f.size {
		f.old, f.cur = f.cur, make(map[uint64]struct{}, f.size)
	}
	f.cur[h] = struct{}{}
}

// forget drops the guid: the script found its record gone.
func (f *finishedGUIDs) forget(merchant, order, guid string) {
	h := f.hash(merchant, order, guid)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cur, h)
	delete(f.old, h)
}
