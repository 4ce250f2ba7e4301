package scan

import (
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// formats maps -o names to renderers.
var formats = map[string]render.Func{
	"json":  jsonout.Render,
	"table": jsonout.Render, // TODO(lead): replaced by render/table when it lands
}

// dirRenderers returns the Helm and Kustomize renderers configured by flags.
func dirRenderers(f *flags) []manifest.DirRenderer {
	return nil
}
