package page

import (
	"errors"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"
)

func wantInvalidToken(t *testing.T, err error) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
		t.Fatalf("want invalid_argument on page_token, got %v", err)
	}
}

// FuzzDecode: any token a client sends is decoded or refused as
// INVALID_ARGUMENT, never a panic; a token that decodes yields a position.
func FuzzDecode(f *testing.F) {
	f.Add(Encode("0190f3a2-0000-7000-8000-000000000001", Fingerprint("pohjois-pohjanmaa", "lape", "")), Fingerprint("pohjois-pohjanmaa", "lape", ""))
	f.Add("", uint64(0))
	f.Add("eyJhIjoiIiwiZiI6MH0", uint64(0))  // {"a":"","f":0}
	f.Add("bm90IGpzb24", uint64(1))          // not json
	f.Add("eyJhIjoxLCJmIjoiMCJ9", uint64(0)) // wrong types
	f.Fuzz(func(t *testing.T, token string, filter uint64) {
		after, err := Decode(token, filter)
		switch {
		case err != nil:
			wantInvalidToken(t, err)
		case token == "" && after != "":
			t.Fatalf("empty token decoded to %q", after)
		case token != "" && after == "":
			t.Fatalf("token %q decoded to no position", token)
		}
	})
}

// FuzzRoundTrip: Encode then Decode with the same filter returns the
// position; with any other filter the token is refused.
func FuzzRoundTrip(f *testing.F) {
	f.Add("0190f3a2-0000-7000-8000-000000000001", uint64(1), uint64(2))
	f.Add("pohjois-pohjanmaa\x000190f3a2-0000-7000-8000-000000000001", Fingerprint("a"), Fingerprint("b"))
	f.Add("\"}<>&\u2028", uint64(0), ^uint64(0))
	f.Fuzz(func(t *testing.T, after string, filter, other uint64) {
		if after == "" || !utf8.ValidString(after) {
			return // positions are ids: never empty, always UTF-8
		}
		token := Encode(after, filter)
		got, err := Decode(token, filter)
		if err != nil || got != after {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", after, got, err)
		}
		if other != filter {
			_, err := Decode(token, other)
			wantInvalidToken(t, err)
		}
	})
}
