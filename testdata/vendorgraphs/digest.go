package vendorgraphs

import (
	"crypto/sha256"
	"encoding/hex"
)

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
