package identity

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
	"github.com/kubeharden/kubeharden/inventory"
)

// The thresholds the corpus must meet, per check. Every positive in the
// corpus is a credential of a shape the checks claim to recognise, so a
// miss is a bug: the recall floor leaves room for one or two deliberate
// trade-offs at most. A false positive costs a user a suppression, and
// the negatives are chosen to be hard (random IDs, digests, base64 of
// configuration, placeholders, header names): at most one in fifty.
const (
	minRecall = 0.95
	maxFPRate = 0.02
)

// corpusEntry is one value of testdata/credentials-corpus.yaml.
type corpusEntry struct {
	Name   string        `yaml:"name"`
	Value  string        `yaml:"value"`
	What   string        `yaml:"what"`
	In     string        `yaml:"in"`
	Encode string        `yaml:"encode"`
	From   string        `yaml:"from"`
	With   []corpusEntry `yaml:"with"`
}

type corpus struct {
	Positives []corpusEntry `yaml:"positives"`
	Negatives []corpusEntry `yaml:"negatives"`
}

var placeholder = regexp.MustCompile(`%\{([A-Za-z0-9]+)(?::([^}]*))?\}`)

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b64url   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// expand replaces the %{kind:arg} placeholders of a corpus value with
// random strings of that shape, drawn from r.
func expand(t testing.TB, v string, r *rand.Rand) string {
	draw := func(chars string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		return string(b)
	}
	pem := func(typ, nl string) string {
		body := "MII" + draw(b64chars, 61)
		if strings.HasPrefix(typ, "OPENSSH") {
			body = "b3BlbnNzaC1rZXktdjEAAAAA" + draw(b64chars, 40)
		}
		lines := []string{"-----BEGIN " + typ + "-----", body}
		for range 12 {
			lines = append(lines, draw(b64chars, 64))
		}
		lines = append(lines, draw(b64chars, 26)+"==", "-----END "+typ+"-----", "")
		return strings.Join(lines, nl)
	}
	return placeholder.ReplaceAllStringFunc(v, func(m string) string {
		sm := placeholder.FindStringSubmatch(m)
		kind, arg := sm[1], sm[2]
		n, _ := strconv.Atoi(arg)
		switch kind {
		case "alnum":
			return draw(alnum, n)
		case "b64":
			return draw(b64chars, n)
		case "b64url":
			return draw(b64url, n)
		case "hex":
			return draw("0123456789abcdef", n)
		case "HEX":
			return draw("0123456789ABCDEF", n)
		case "upper":
			return draw("ABCDEFGHIJKLMNOPQRSTUVWXYZ", n)
		case "lower":
			return draw("abcdefghijklmnopqrstuvwxyz", n)
		case "digits":
			return draw("0123456789", n)
		case "awsid":
			return draw("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n)
		case "uuid":
			h := draw("0123456789abcdef", 32)
			return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
		case "basic":
			return base64.StdEncoding.EncodeToString([]byte(arg + ":" + draw(alnum, 20)))
		case "pem":
			return pem(arg, "\n")
		case "pemjson":
			return pem(arg, `\n`)
		}
		t.Fatalf("corpus: unknown placeholder %s", m)
		return ""
	})
}

// materialize expands an entry, its encoding and its companions.
func materialize(t testing.TB, e corpusEntry, r *rand.Rand) corpusEntry {
	e.Value = expand(t, e.Value, r)
	if e.Encode == "base64" {
		e.Value = base64.StdEncoding.EncodeToString([]byte(e.Value))
	} else if e.Encode != "" {
		t.Fatalf("corpus: unknown encoding %q", e.Encode)
	}
	with := make([]corpusEntry, len(e.With))
	for i, w := range e.With {
		with[i] = materialize(t, w, r)
	}
	e.With = with
	return e
}

// loadCorpus reads the corpus and draws its random parts from the given
// seed.
func loadCorpus(t testing.TB, seed uint64) (pos, neg []corpusEntry) {
	b, err := os.ReadFile(filepath.Join("testdata", "credentials-corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	// Each entry draws from its own stream, so adding an entry changes no
	// other entry's value.
	for i, e := range c.Positives {
		pos = append(pos, materialize(t, e, rand.New(rand.NewPCG(2*seed+1, uint64(i)))))
	}
	for i, e := range c.Negatives {
		neg = append(neg, materialize(t, e, rand.New(rand.NewPCG(2*seed+2, uint64(i)))))
	}
	return pos, neg
}

// corpusObjects renders every entry as a Pod (its env var first, the
// companions after it) and as a ConfigMap, as the entry allows, named
// <prefix>-<index>-<env|cm>.
func corpusObjects(prefix string, entries []corpusEntry) []any {
	var docs []any
	for i, e := range entries {
		all := append([]corpusEntry{e}, e.With...)
		if e.In == "" || e.In == "env" {
			var env []map[string]any
			for _, x := range all {
				if x.From == "secretKeyRef" {
					env = append(env, map[string]any{"name": x.Name, "valueFrom": map[string]any{
						"secretKeyRef": map[string]any{"name": "app", "key": strings.ToLower(x.Name)}}})
				} else {
					env = append(env, map[string]any{"name": x.Name, "value": x.Value})
				}
			}
			docs = append(docs, map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": fmt.Sprintf("%s-%03d-env", prefix, i)},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "app", "image": "registry.example/app:1.0", "env": env}}},
			})
		}
		if (e.In == "" || e.In == "configmap") && e.From == "" {
			data := map[string]string{}
			for _, x := range all {
				data[x.Name] = x.Value
			}
			docs = append(docs, map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": fmt.Sprintf("%s-%03d-cm", prefix, i)},
				"data":     data,
			})
		}
	}
	return docs
}

// corpusResult is what the checks said about one entry in one context.
type corpusResult struct {
	entry   corpusEntry
	check   string // secret-in-env or secret-in-configmap
	message string // "" when nothing was reported
}

// runCorpus scans the entries and returns one result per entry and context.
func runCorpus(t *testing.T, prefix string, entries []corpusEntry) []corpusResult {
	t.Helper()
	var buf strings.Builder
	for _, d := range corpusObjects(prefix, entries) {
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	file := filepath.Join(t.TempDir(), prefix+".yaml")
	if err := os.WriteFile(file, []byte(buf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := checktest.Scan(t, []*check.Check{SecretInEnv, SecretInConfigMap}, file)
	for _, e := range rep.Errors {
		t.Fatalf("corpus does not load: %s", e)
	}
	messages := map[string]string{} // object name -> message of the finding on the entry itself
	for _, f := range rep.Findings {
		name := f.Object.Ref.Name
		i, _ := strconv.Atoi(strings.Split(name, "-")[1])
		e := entries[i]
		own := strings.Contains(f.Location.Path, ".env[0]") || f.Location.Path == inventory.Key("data", e.Name)
		if own {
			messages[name] = f.Message
		}
	}
	var out []corpusResult
	for i, e := range entries {
		for _, ctx := range []struct{ suffix, check string }{{"env", SecretInEnv.ID}, {"cm", SecretInConfigMap.ID}} {
			name := fmt.Sprintf("%s-%03d-%s", prefix, i, ctx.suffix)
			if !objectMade(e, ctx.suffix) {
				continue
			}
			out = append(out, corpusResult{entry: e, check: ctx.check, message: messages[name]})
		}
	}
	return out
}

func objectMade(e corpusEntry, ctx string) bool {
	if ctx == "env" {
		return e.In == "" || e.In == "env"
	}
	return (e.In == "" || e.In == "configmap") && e.From == ""
}

// TestCredentialCorpus measures recall on the positives and the
// false-positive rate on the negatives of the corpus, per check, and
// holds both to the thresholds above. Every miss and false positive of
// the corpus drawn from seed 0 is an error of its own; further draws
// (other random strings of the same shapes) catch rules that pass only by
// luck of the draw, and are held to the thresholds as a whole.
func TestCredentialCorpus(t *testing.T) {
	type tally struct{ pos, hit, neg, fp int }
	measure := func(seed uint64, strict bool) map[string]*tally {
		pos, neg := loadCorpus(t, seed)
		if len(pos) < 60 || len(neg) < 100 {
			t.Fatalf("corpus too small: %d positives, %d negatives", len(pos), len(neg))
		}
		tallies := map[string]*tally{SecretInEnv.ID: {}, SecretInConfigMap.ID: {}}
		for _, r := range runCorpus(t, "p", pos) {
			tl := tallies[r.check]
			tl.pos++
			if r.message == "" {
				if strict {
					t.Errorf("%s missed %s=%.60q", r.check, r.entry.Name, r.entry.Value)
				}
				continue
			}
			tl.hit++
			if r.entry.What != "" && !strings.Contains(r.message, r.entry.What) {
				t.Errorf("%s on %s: message %q does not say %q", r.check, r.entry.Name, r.message, r.entry.What)
			}
			if leak := echoed(r.message, r.entry.Value); leak != "" {
				t.Errorf("%s on %s: message %q echoes the secret (%q)", r.check, r.entry.Name, r.message, leak)
			}
		}
		for _, r := range runCorpus(t, "n", neg) {
			tl := tallies[r.check]
			tl.neg++
			if r.message != "" {
				tl.fp++
				if strict {
					t.Errorf("%s flagged negative %s=%.60q: %s", r.check, r.entry.Name, r.entry.Value, r.message)
				}
			}
		}
		return tallies
	}
	report := func(label string, tallies map[string]*tally) {
		var all tally
		for _, id := range []string{SecretInEnv.ID, SecretInConfigMap.ID} {
			tl := tallies[id]
			all.pos, all.hit, all.neg, all.fp = all.pos+tl.pos, all.hit+tl.hit, all.neg+tl.neg, all.fp+tl.fp
			recall, fpr := float64(tl.hit)/float64(tl.pos), float64(tl.fp)/float64(tl.neg)
			t.Logf("%s %-20s recall %d/%d = %.3f, false positives %d/%d = %.3f", label, id, tl.hit, tl.pos, recall, tl.fp, tl.neg, fpr)
			if recall < minRecall {
				t.Errorf("%s %s: recall %.3f below %.2f", label, id, recall, minRecall)
			}
			if fpr > maxFPRate {
				t.Errorf("%s %s: false-positive rate %.3f above %.2f", label, id, fpr, maxFPRate)
			}
		}
		t.Logf("%s %-20s recall %d/%d = %.3f, false positives %d/%d = %.3f", label, "both",
			all.hit, all.pos, float64(all.hit)/float64(all.pos), all.fp, all.neg, float64(all.fp)/float64(all.neg))
	}
	report("seed 0:  ", measure(0, true))

	const draws = 8
	sum := map[string]*tally{SecretInEnv.ID: {}, SecretInConfigMap.ID: {}}
	for seed := uint64(1); seed <= draws; seed++ {
		for id, tl := range measure(seed, false) {
			s := sum[id]
			s.pos, s.hit, s.neg, s.fp = s.pos+tl.pos, s.hit+tl.hit, s.neg+tl.neg, s.fp+tl.fp
		}
	}
	report(fmt.Sprintf("seeds 1-%d:", draws), sum)
}

// echoed returns a run of 16 or more credential characters of value (the
// random part of every positive is one) that message repeats, or "".
func echoed(message, value string) string {
	for _, run := range regexp.MustCompile(`[A-Za-z0-9+/=_-]{16,}`).FindAllString(value, -1) {
		if strings.Contains(message, run) {
			return run
		}
	}
	return ""
}
