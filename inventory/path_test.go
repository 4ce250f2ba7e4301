package inventory

import "testing"

func TestSplitPath(t *testing.T) {
	got := SplitPath(`spec.containers[2].env[0].name.metadata.annotations["a.b/c"].x[y]`)
	want := []PathSegment{{"spec", -1}, {"containers", -1}, {"", 2}, {"env", -1}, {"", 0}, {"name", -1}, {"metadata", -1}, {"annotations", -1}, {"a.b/c", -1}, {"x", -1}, {"y", -1}}
	if len(got) != len(want) {
		t.Fatalf("SplitPath = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestPathRoundTrip(t *testing.T) {
	p := Join("spec", Index("containers", 3), Key("annotations", "x.io/y"), "name")
	got := SplitPath(p)
	if len(got) != 6 || got[2].Index != 3 || got[4].Key != "x.io/y" || got[5].Key != "name" {
		t.Errorf("SplitPath(%q) = %+v", p, got)
	}
}
