// Package guard holds what every connection and every answer of the link server is held
// to, whichever path serves it (SPEC §5, hardened as a public endpoint): the cap on open
// connections, the request header cap and the Range limit, the minimum transfer rate
// instead of a write timeout, the headers every answer carries, the attachment
// disposition, and the one response writer that applies them to net/http's answers.
// It decides nothing about links.
package guard
