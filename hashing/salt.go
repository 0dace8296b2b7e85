package hashing

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// SaltLength is the number of characters in a salt, as the contract fixes it.
const SaltLength = 10

const saltAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// saltAcceptBelow is the largest multiple of len(saltAlphabet) that fits in a
// byte (4*62 = 248). Bytes at or above it are thrown away: keeping them and
// taking the remainder would make the first 8 characters of the alphabet more
// likely than the others.
const saltAcceptBelow = 256 - 256%len(saltAlphabet)

// saltMaxRead bounds how many bytes one salt may consume, so that a broken
// source that only ever yields rejected bytes fails instead of hanging. A
// healthy source needs about 10.3 bytes on average.
const saltMaxRead = 1024

// errSaltSourceExhausted reports a source that kept yielding bytes the salt
// cannot use without bias.
var errSaltSourceExhausted = errors.New("hashing: random source yielded no usable bytes")

// NewSalt returns SaltLength characters from [A-Za-z0-9], drawn uniformly
// from crypto/rand.
func NewSalt() (string, error) {
	return NewSaltFrom(rand.Reader)
}

// NewSaltFrom is NewSalt with the randomness taken from r, so that tests can
// feed known bytes. Production code should call NewSalt.
func NewSaltFrom(r io.Reader) (string, error) {
	out := make([]byte, 0, SaltLength)
	buf := make([]byte, SaltLength)
	for read := 0; len(out) < SaltLength; {
		if read >= saltMaxRead {
			return "", errSaltSourceExhausted
		}
		// Ask only for what is still missing, so a reader holding exactly the
		// bytes a salt needs is enough and nothing is drawn in vain.
		chunk := buf[:SaltLength-len(out)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return "", fmt.Errorf("hashing: reading random bytes for salt: %w", err)
		}
		read += len(chunk)
		for _, b := range chunk {
			if int(b) < saltAcceptBelow {
				out = append(out, saltAlphabet[int(b)%len(saltAlphabet)])
			}
		}
	}
	return string(out), nil
}
