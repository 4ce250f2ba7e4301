package scan

import (
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/junit"
	"github.com/kubeharden/kubeharden/render/sarif"
	"github.com/kubeharden/kubeharden/render/table"
	"github.com/kubeharden/kubeharden/source/helm"
	"github.com/kubeharden/kubeharden/source/kustomize"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// formats maps -o names to renderers.
var formats = map[string]render.Func{
	"table": table.Render,
	"json":  jsonout.Render,
	"sarif": sarif.Render,
	"junit": junit.Render,
}

// spills are the formats that stream findings, so a scan keeps them in a
// temporary file rather than in memory.
var spills = map[string]bool{"json": true, "sarif": true}

// dirRenderers returns the Helm and Kustomize renderers configured by flags.
func dirRenderers(f *flags) []manifest.DirRenderer {
	return []manifest.DirRenderer{
		helm.New(helm.Options{
			ValuesFiles: f.values,
			Set:         f.set,
			SetString:   f.setString,
			ReleaseName: f.releaseName,
			Namespace:   f.releaseNamespace,
			KubeVersion: f.kubeVersion,
		}),
		kustomize.New(),
	}
}
