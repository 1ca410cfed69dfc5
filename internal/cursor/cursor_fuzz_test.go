package cursor

import (
	"errors"
	"testing"

	"connectrpc.com/connect"
)

// FuzzDecode: any cursor a client sends is decoded or refused as
// INVALID_ARGUMENT, never a panic; a decoded position encodes to a cursor
// of the same position.
func FuzzDecode(f *testing.F) {
	for _, c := range []string{"", Encode(0), Encode(42), Encode(^uint64(0)), "YzEu", "YzEuLTE", "YzIuMQ", "YzEuMDAwNw", "not a cursor", "YzEuMTA="} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		seq, err := Decode("cursor", c)
		if err != nil {
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
				t.Fatalf("want invalid_argument, got %v", err)
			}
			return
		}
		if c == "" {
			if seq != 0 {
				t.Fatalf("empty cursor at %d", seq)
			}
			return
		}
		again, err := Decode("cursor", Encode(seq))
		if err != nil || again != seq {
			t.Fatalf("%q is at %d, its re-encoding at %d, %v", c, seq, again, err)
		}
	})
}

// FuzzRoundTrip: every position survives Encode then Decode.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(1))
	f.Add(^uint64(0))
	f.Fuzz(func(t *testing.T, seq uint64) {
		got, err := Decode("cursor", Encode(seq))
		if err != nil || got != seq {
			t.Fatalf("Decode(Encode(%d)) = %d, %v", seq, got, err)
		}
	})
}
