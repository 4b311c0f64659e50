// Threading contract: not safe for concurrent use; the store calls it under its write lock.
//
// Time-ordered ids (RFC 9562 UUIDv7, lowercase text): 48 bits of Unix milliseconds, a 12-bit
// counter for ids made in the same millisecond (borrowing the next millisecond when it runs
// out, so ids stay strictly ascending), and 62 random bits. The same scheme as the C++
// baseline's UuidV7Generator.

package main

import (
	"math/rand"
	"time"
)

const counterMax = 0xfff

type uuidV7 struct {
	lastMs  uint64
	counter uint32
	random  *rand.Rand
}

func newUUIDV7() uuidV7 {
	return uuidV7{random: rand.New(rand.NewSource(time.Now().UnixNano()))}
}

func (g *uuidV7) next(now time.Time) string {
	ms := uint64(now.UnixMilli())
	if ms > g.lastMs {
		g.lastMs = ms
		g.counter = 0
	} else if g.counter++; g.counter > counterMax { // same (or an earlier) millisecond
		g.lastMs++ // borrow the next millisecond rather than repeat
		g.counter = 0
	}
	random := g.random.Uint64()

	var b [16]byte
	for i := 0; i < 6; i++ {
		b[i] = byte(g.lastMs >> (40 - 8*i))
	}
	b[6] = byte(0x70 | (g.counter >> 8)) // version 7
	b[7] = byte(g.counter)
	b[8] = byte(0x80 | ((random >> 56) & 0x3f)) // variant 10
	for i := 9; i < 16; i++ {
		b[i] = byte(random >> (8 * (15 - i)))
	}

	const hex = "0123456789abcdef"
	text := make([]byte, 0, 36)
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			text = append(text, '-')
		}
		text = append(text, hex[b[i]>>4], hex[b[i]&0xf])
	}
	return string(text)
}
