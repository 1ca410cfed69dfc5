package testenv

import (
	"sync"
	"time"
)

// Clock is an injectable clock: real time plus an offset tests move forward.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock at real time.
func NewClock() *Clock { return &Clock{} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
