package networks

import (
	"regexp"
)

var businessIDPattern = regexp.MustCompile(`^[0-9]{7}-[0-9]$`)

// ValidBusinessID checks a Finnish business ID (Y-tunnus): seven digits, a
// hyphen and a check digit computed with weights 7, 9, 10, 5, 8, 4, 2 modulo 11.
func ValidBusinessID(s string) bool {
	if !businessIDPattern.MatchString(s) {
		return false
	}
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	check := 0
	switch r := sum % 11; r {
	case 0:
	case 1:
		return false
	default:
		check = 11 - r
	}
	return int(s[8]-'0') == check
}
