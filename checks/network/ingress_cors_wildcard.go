package network

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// IngressCORSWildcard is check ingress-cors-wildcard. An Ingress that enables CORS in ingress-nginx must name the origins it
// trusts. The check fires when nginx.ingress.kubernetes.io/enable-cors is
// true (as ingress-nginx parses booleans) and cors-allow-origin is absent or
// blank (ingress-nginx then defaults it to "*") or is a comma-separated list
// containing "*" (one "*" anywhere makes ingress-nginx allow every origin).
// Subdomain wildcards such as https://*.example.com are a bounded set of
// origins and do not fire.
var IngressCORSWildcard = registry.Add(&check.Check{
	ID:       "ingress-cors-wildcard",
	Title:    "Ingress allows CORS from any origin",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "With enable-cors and a wildcard origin, ingress-nginx answers every cross-origin request with " +
		"Access-Control-Allow-Origin: *, so any web page a user visits can call the service from the user's browser " +
		"and read the responses. Browsers do not send cookies with a wildcard origin, which limits the damage to data " +
		"the browser can reach without credentials (internal services trusted because of network position, for " +
		"example), hence low severity. An absent or blank cors-allow-origin counts as a wildcard: it is " +
		"ingress-nginx's default.",
	Remediation: "Set nginx.ingress.kubernetes.io/cors-allow-origin to the exact origins that need access " +
		"(comma-separated, e.g. \"https://app.example.com, https://admin.example.com\"), or remove enable-cors if " +
		"the service is not called from other origins.",
	Kinds: kinds.List(kinds.Ingress),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		const enable, origin = "nginx.ingress.kubernetes.io/enable-cors", "nginx.ingress.kubernetes.io/cors-allow-origin"
		if on, err := strconv.ParseBool(strings.TrimSpace(o.Annotation(enable))); err != nil || !on {
			return nil
		}
		value := strings.TrimSpace(o.Annotation(origin))
		if value == "" {
			return []check.Result{{
				Path:    inventory.Join("metadata", inventory.Key("annotations", enable)),
				Message: "CORS is enabled without cors-allow-origin, so ingress-nginx allows every origin (\"*\")",
			}}
		}
		for _, v := range strings.Split(value, ",") {
			if strings.TrimSpace(v) == "*" {
				return []check.Result{{
					Path:    inventory.Join("metadata", inventory.Key("annotations", origin)),
					Message: "cors-allow-origin contains \"*\": every origin may read responses cross-origin",
				}}
			}
		}
		return nil
	},
})
