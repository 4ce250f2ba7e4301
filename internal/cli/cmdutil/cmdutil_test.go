package cmdutil

import (
	"errors"
	"strings"
	"testing"
)

func TestInputs(t *testing.T) {
	for _, tc := range []struct {
		cluster             bool
		args                []string
		kubeconfig, context string
		exclude             []string
		want                string // "" = accepted
	}{
		{args: []string{"dir"}},
		{args: []string{"-"}, exclude: []string{"vendor"}},
		{cluster: true, kubeconfig: "k", context: "c"},
		{cluster: true, args: []string{"dir"}, want: "not both"},
		{want: "nothing to read"},
		{args: []string{"dir"}, context: "c", want: "need --cluster"},
		{args: []string{"dir"}, kubeconfig: "k", want: "need --cluster"},
		{cluster: true, exclude: []string{"x"}, want: "--exclude applies"},
	} {
		err := Inputs(tc.cluster, tc.args, tc.kubeconfig, tc.context, tc.exclude)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc, err)
			}
			continue
		}
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want a usage error (exit 2) containing %q", tc, err, tc.want)
		}
	}
}
