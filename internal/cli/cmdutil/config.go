package cmdutil

import (
	"os"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/config"
	"github.com/kubeharden/kubeharden/procrule"
)

// LoadConfig reads the configuration file at path, or the .kubeharden.yaml
// found upward from the working directory when path is empty (none found:
// an empty configuration). A file that does not load is an exit-2 error
// naming its file and line.
func LoadConfig(path string) (*config.Config, error) {
	// Exceptions may name any check or runtime rule (one configuration
	// file serves every command; audit detections are known to config).
	known := func(id string) bool { return checks.ByID(id) != nil || procrule.LookupRule(id) != nil }
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return &config.Config{}, nil
		}
		if path = config.Find(wd); path == "" {
			return &config.Config{}, nil
		}
	}
	cfg, err := config.Load(path, known)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return cfg, nil
}
