package password

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// Policy bounds, in characters (runes), from the contract.
const (
	MinLength = 8
	MaxLength = 128
)

// Errors returned by Check; the server maps each to 400 weak_password.
var (
	ErrTooShort = errors.New("password: shorter than 8 characters")
	ErrTooLong  = errors.New("password: longer than 128 characters")
	ErrCommon   = errors.New("password: too common")
)

// common.txt lists well-known passwords of at least MinLength characters,
// lower-case, one per line; shorter ones are already refused by length.
//
//go:embed common.txt
var commonText string

var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	for line := range strings.Lines(commonText) {
		if w := strings.TrimSpace(line); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// Check applies the contract's password policy: fewer than 8 characters
// is ErrTooShort, more than 128 is ErrTooLong, and a password in the
// built-in common-password list, compared case-insensitively, is ErrCommon.
func Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	if _, found := commonSet()[strings.ToLower(pw)]; found {
		return ErrCommon
	}
	return nil
}
