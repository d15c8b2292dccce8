package query

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitTerms splits a raw query string on unencoded '&' and percent-decodes each
// term ('+' is a space; a '%' without two hex digits after it stays literal).
//
// In a term whose first non-blank character is '(' an '&' inside a quoted string does
// not split, so (Face.Name = 'A&B') survives a client that did not encode the '&'.
// Elsewhere every unencoded '&' splits: plain values (Name=O'Brien) may hold quotes.
func splitTerms(raw string) []string {
	var terms []string
	var b []byte
	const (
		undecided = iota
		plainMode
		exprMode
	)
	mode, inQuote := undecided, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&' && !(mode == exprMode && inQuote):
			terms = append(terms, string(b))
			b, mode, inQuote = b[:0], undecided, false
			continue
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		b = append(b, c)
		switch {
		case mode == undecided && c == '(':
			mode = exprMode
		case mode == undecided && !isBlank(c):
			mode = plainMode
		case mode == exprMode && c == '\'':
			inQuote = !inQuote
		}
	}
	return append(terms, string(b))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tComma
	tOp     // a run of = ! < >; validated by the parser
	tString // quoted; text is unquoted
	tWord
)

type token struct {
	kind tokKind
	text string
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of term"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tComma:
		return "','"
	case tString:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

// lex splits a decoded term into tokens, always ending with tEOF.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isBlank(c):
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ","})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, &Error{Param: termParam(s), Msg: "unterminated string"}
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tString, b.String()})
			i = j
		case isOpByte(c):
			j := i
			for j < len(s) && isOpByte(s[j]) {
				j++
			}
			toks = append(toks, token{tOp, s[i:j]})
			i = j
		default:
			if r, n := utf8.DecodeRuneInString(s[i:]); unicode.IsSpace(r) {
				i += n // e.g. U+3000 IDEOGRAPHIC SPACE
				continue
			}
			j := i
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if !isWordRune(r) {
					break
				}
				j += n
			}
			if j == i {
				r, _ := utf8.DecodeRuneInString(s[i:])
				msg := "unexpected character " + strconv.QuoteRune(r)
				if r == '"' {
					msg += "; quote strings with '"
				}
				return nil, &Error{Param: termParam(s), Msg: msg}
			}
			toks = append(toks, token{tWord, s[i:j]})
			i = j
		}
	}
	return append(toks, token{kind: tEOF}), nil
}

func isOpByte(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' }

func isWordRune(r rune) bool {
	switch r {
	case '(', ')', '\'', '"', ',', '=', '!', '<', '>', '&', ';':
		return false
	}
	return !unicode.IsSpace(r) && !unicode.IsControl(r)
}
