{{/*
The namespace of the scanner, the webhooks and the nightly scan.
*/}}
{{- define "kubeharden.namespace" -}}
{{- .Values.namespace.name | default .Release.Namespace -}}
{{- end -}}

{{/*
The labels Helm charts conventionally put on every object. The objects'
own app.kubernetes.io/name labels (and every selector) are those of the
plain manifests, so that the two select the same pods.
*/}}
{{- define "kubeharden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/*
The image, pinned by digest. kubeharden's image-not-pinned check demands a
digest: an image with a tag only is refused here rather than deployed.
*/}}
{{- define "kubeharden.image" -}}
{{- $img := .Values.image -}}
{{- if not $img.repository -}}
{{- fail "image.repository is required" -}}
{{- end -}}
{{- if contains "@" $img.repository -}}
{{- fail (printf "image.repository %q holds a digest: give the repository alone and the digest in image.digest" $img.repository) -}}
{{- end -}}
{{- if not $img.digest -}}
{{- fail (printf "image.digest is required: kubeharden's own checks (image-not-pinned) demand images pinned by digest, and %s is a tag-only image; set image.digest to sha256:... of the image you build" (printf "%s:%s" $img.repository ($img.tag | default "latest"))) -}}
{{- end -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" $img.digest) -}}
{{- fail (printf "image.digest %q is not a digest: want sha256: and 64 lowercase hexadecimal digits" $img.digest) -}}
{{- end -}}
{{- $img.repository -}}{{- with $img.tag -}}:{{ . }}{{- end -}}@{{ $img.digest }}
{{- end -}}

{{/*
The image and its pull policy, for a container.
*/}}
{{- define "kubeharden.containerImage" -}}
image: {{ include "kubeharden.image" . }}
{{- with .Values.image.pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end -}}

{{/*
imagePullSecrets of a pod, if any.
*/}}
{{- define "kubeharden.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Scheduling of a Deployment's pods: nodeSelector, tolerations, affinity and
priority class, from the component's values (the argument).
*/}}
{{- define "kubeharden.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
The API access of a pod whose token is not automounted: a projected
one-hour token for the API server's audience, the cluster CA and the
namespace, where client-go's in-cluster configuration reads them.
*/}}
{{- define "kubeharden.apiAccessVolume" -}}
- name: api-access
  projected:
    sources:
    - serviceAccountToken: {path: token, expirationSeconds: 3600}
    - configMap:
        name: kube-root-ca.crt
        items: [{key: ca.crt, path: ca.crt}]
    - downwardAPI:
        items:
        - path: namespace
          fieldRef: {fieldPath: metadata.namespace}
{{- end -}}

{{/*
Egress to cluster DNS and to the API server's ports.
*/}}
{{- define "kubeharden.egressDNSAndAPIServer" -}}
- to:
  - namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: {{ .Values.networkPolicy.dnsNamespace }}}
  ports:
  - {protocol: UDP, port: 53}
  - {protocol: TCP, port: 53}
- ports:
  {{- range .Values.networkPolicy.apiServerPorts }}
  - {protocol: TCP, port: {{ . }}}
  {{- end }}
{{- end -}}

{{/*
Whether a webhook (the argument: its values) gets its certificate from
cert-manager: "true" or "". Fails when it can get none.
*/}}
{{- define "kubeharden.certManaged" -}}
{{- if not .component.tls.existingSecret -}}
{{- if not .root.Values.certManager.enabled -}}
{{- fail (printf "%s needs a serving certificate: set %s.tls.existingSecret to a kubernetes.io/tls Secret, or certManager.enabled=true" .name .name) -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/*
Whether the chart makes the self-signed CA of the webhooks' certificates.
*/}}
{{- define "kubeharden.makeCA" -}}
{{- $admission := and .Values.admission.enabled (include "kubeharden.certManaged" (dict "root" . "component" .Values.admission "name" "admission")) -}}
{{- $audit := and .Values.auditWebhook.enabled (include "kubeharden.certManaged" (dict "root" . "component" .Values.auditWebhook "name" "auditWebhook")) -}}
{{- if and (or $admission $audit) (not .Values.certManager.issuerRef.name) -}}
true
{{- end -}}
{{- end -}}

{{/*
The issuer of the webhooks' serving certificates.
*/}}
{{- define "kubeharden.issuerRef" -}}
{{- if .Values.certManager.issuerRef.name -}}
issuerRef: {name: {{ .Values.certManager.issuerRef.name }}, kind: {{ .Values.certManager.issuerRef.kind | default "Issuer" }}{{ with .Values.certManager.issuerRef.group }}, group: {{ . }}{{ end }}}
{{- else -}}
issuerRef: {name: kubeharden-webhook-ca, kind: Issuer}
{{- end -}}
{{- end -}}
