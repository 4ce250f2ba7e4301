package workload

import (
	_ "crypto/sha256" // digest algorithms a pinned reference may use
	_ "crypto/sha512"
	"strings"

	"github.com/distribution/reference"
)

// imageRef is a container image reference taken apart:
// [registry[:port]/]repository[:tag][@digest].
type imageRef struct {
	// Name is everything before the tag and digest, registry host included.
	Name   string
	Tag    string
	Digest string
	raw    string
}

// parseImage splits an image reference; Pinned decides with the
// distribution reference grammar. The tag is the part after the last
// colon that follows the last slash, so a registry port
// (registry.example:5000/app) is never mistaken for a tag.
func parseImage(image string) imageRef {
	s := strings.TrimSpace(image)
	var r imageRef
	if at := strings.IndexByte(s, '@'); at >= 0 {
		r.Digest = s[at+1:]
		s = s[:at]
	}
	slash := strings.LastIndexByte(s, '/')
	if colon := strings.LastIndexByte(s, ':'); colon > slash {
		r.Tag = s[colon+1:]
		s = s[:colon]
	}
	r.Name = s
	r.raw = strings.TrimSpace(image)
	return r
}

// Pinned reports whether the reference names its content by a valid
// digest, by the grammar container runtimes use (the distribution
// reference library): a well-formed reference whose digest has a known
// algorithm and an encoding of exactly that algorithm's length in lower
// case hex (sha256: 64 characters, sha512: 128). A digest that is
// truncated, in upper case or of an unknown algorithm pins nothing: the
// runtime refuses to pull it, or it names no content.
func (r imageRef) Pinned() bool {
	if r.Digest == "" {
		return false
	}
	named, err := reference.ParseNormalizedNamed(r.raw)
	if err != nil {
		return false
	}
	_, ok := named.(reference.Canonical)
	return ok
}

// unresolvedImage reports whether an image is empty or still holds a
// placeholder that a later tool substitutes (${TAG}, {{ .Values.tag }}):
// there is nothing to judge yet.
func unresolvedImage(image string) bool {
	s := strings.TrimSpace(image)
	return s == "" || strings.Contains(s, "${") || strings.Contains(s, "{{") || strings.Contains(s, "$(")
}
