package vulndb

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch int
		pre, dist, build    string
	}{
		{"v1.28.3-eks-4f4795d", 1, 28, 3, "", "eks", "eks-4f4795d"},
		{"v1.27.8-gke.1067004", 1, 27, 8, "", "gke", "gke.1067004"},
		{"v1.28.5+k3s1", 1, 28, 5, "", "k3s", "k3s1"},
		{"v1.28.5+rke2r1", 1, 28, 5, "", "rke2", "rke2r1"},
		{"1.30.0", 1, 30, 0, "", "", ""},
		{"v1.31.0-alpha.1", 1, 31, 0, "alpha.1", "", ""},
		{"v1.31.0-rc.0", 1, 31, 0, "rc.0", "", ""},
		{"v1.32.0-beta.2.45+0123abcd", 1, 32, 0, "beta.2.45", "", "0123abcd"},
		{"  v1.29.4  ", 1, 29, 4, "", "", ""},
		{"V1.22.17", 1, 22, 17, "", "", ""},
		{"v1.29", 1, 29, 0, "", "", ""},
		{"v1.26.15-aks-0b7ac12", 1, 26, 15, "", "aks", "aks-0b7ac12"},
		{"v1.24.17+rke2r1", 1, 24, 17, "", "rke2", "rke2r1"},
		{"v1.21.14-rancher1-1", 1, 21, 14, "", "rancher", "rancher1-1"},
		{"v1.27.6+f67aeb3", 1, 27, 6, "", "", "f67aeb3"},
		{"v1.28.2-do.0", 1, 28, 2, "", "digitalocean", "do.0"},
		{"v1.30.1-eks-abcdef0+extra", 1, 30, 1, "", "eks", "eks-abcdef0+extra"},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tt.in, err)
			continue
		}
		if v.Major != tt.major || v.Minor != tt.minor || v.Patch != tt.patch || v.Pre != tt.pre || v.Distribution != tt.dist || v.Build != tt.build {
			t.Errorf("ParseVersion(%q) = %d.%d.%d pre=%q dist=%q build=%q; want %d.%d.%d pre=%q dist=%q build=%q",
				tt.in, v.Major, v.Minor, v.Patch, v.Pre, v.Distribution, v.Build, tt.major, tt.minor, tt.patch, tt.pre, tt.dist, tt.build)
		}
		if v.Raw != tt.in {
			t.Errorf("ParseVersion(%q).Raw = %q", tt.in, v.Raw)
		}
	}
}

func TestParseVersionErrors(t *testing.T) {
	for _, in := range []string{"", "latest", "v1", "1.x.3", "v1.28.3_eks", "eks-1.28.3", "v-1.2.3"} {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %+v, want an error", in, v)
		}
	}
}

func TestVersionString(t *testing.T) {
	for in, want := range map[string]string{
		"v1.28.3-eks-4f4795d": "1.28.3",
		"v1.31.0-alpha.1":     "1.31.0-alpha.1",
		"1.30":                "1.30.0",
		"v1.28.5+k3s1":        "1.28.5",
	} {
		if got := MustParseVersion(in).String(); got != want {
			t.Errorf("%q.String() = %q, want %q", in, got, want)
		}
	}
	if got := MustParseVersion("v1.28.5+rke2r1").MinorString(); got != "1.28" {
		t.Errorf("MinorString = %q", got)
	}
}

func TestCompare(t *testing.T) {
	ordered := []string{
		"1.9.11",
		"1.10.0-alpha.0",
		"1.10.0-alpha.1",
		"1.10.0-alpha.10",
		"1.10.0-beta.0",
		"1.10.0-rc.1",
		"1.10.0",
		"1.10.2",
		"1.10.10",
		"1.11.0",
		"2.0.0",
	}
	for i := range ordered {
		for j := range ordered {
			a, b := MustParseVersion(ordered[i]), MustParseVersion(ordered[j])
			want := sign(i - j)
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if c := MustParseVersion("v1.28.3-eks-4f4795d").Compare(MustParseVersion("1.28.3")); c != 0 {
		t.Errorf("a vendor suffix must not change the order, got %d", c)
	}
	if c := MustParseVersion("1.28.9").CompareMinor(MustParseVersion("1.29.0-alpha.1")); c != -1 {
		t.Errorf("CompareMinor = %d", c)
	}
}

func TestDistributionName(t *testing.T) {
	for in, want := range map[string]string{"eks": "EKS", "gke": "GKE", "k3s": "k3s", "rke2": "RKE2", "": "", "rancher": "Rancher"} {
		if got := DistributionName(in); got != want {
			t.Errorf("DistributionName(%q) = %q, want %q", in, got, want)
		}
	}
}
