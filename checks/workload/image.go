package workload

import (
	"regexp"
	"strings"
)

// imageRef is a container image reference taken apart:
// [registry[:port]/]repository[:tag][@digest].
type imageRef struct {
	// Name is everything before the tag and digest, registry host included.
	Name   string
	Tag    string
	Digest string
}

// parseImage splits an image reference. The tag is the part after the last
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
	return r
}

// digestPattern is an OCI content digest: algorithm, colon, hex encoding
// (sha256:<64 hex>, sha512:<128 hex>).
var digestPattern = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$`)

// Pinned reports whether the reference names its content by digest.
func (r imageRef) Pinned() bool { return digestPattern.MatchString(r.Digest) }

// unresolvedImage reports whether an image is empty or still holds a
// placeholder that a later tool substitutes (${TAG}, {{ .Values.tag }}):
// there is nothing to judge yet.
func unresolvedImage(image string) bool {
	s := strings.TrimSpace(image)
	return s == "" || strings.Contains(s, "${") || strings.Contains(s, "{{") || strings.Contains(s, "$(")
}
