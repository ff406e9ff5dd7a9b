{{/* Name of the chart, overridable. */}}
{{- define "kube-postrender.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name when it already contains the chart name. */}}
{{- define "kube-postrender.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "kube-postrender.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "kube-postrender.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kube-postrender.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-postrender.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-postrender.labels" -}}
{{ include "kube-postrender.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "kube-postrender.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kube-postrender.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Secret holding tls.crt, tls.key and ca.crt, in both certificate modes. */}}
{{- define "kube-postrender.tlsSecretName" -}}
{{- printf "%s-tls" (include "kube-postrender.fullname" .) -}}
{{- end -}}

{{- define "kube-postrender.serviceDNS" -}}
{{- printf "%s.%s.svc" (include "kube-postrender.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/*
Selectors shared by the mutating and the validating webhooks. The namespace
exclusion is not optional: a webhook that intercepts its own namespace can
deadlock its own restart, and kube-system / kube-node-lease hold what the
cluster needs to heal (DESIGN.md, default exclusions). Helm release records
(label owner=helm) can be near 1 MB and are never our business.
"kube-postrender.namespaceExpressions": the matchExpressions items (a webhook
adds its own after them); "kube-postrender.objectSelector": the whole selector.
*/}}
{{- define "kube-postrender.namespaceExpressions" -}}
- key: kubernetes.io/metadata.name
  operator: NotIn
  values:
    - {{ .Release.Namespace }}
    - kube-system
    - kube-node-lease
    {{- with .Values.webhook.excludeNamespaces }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- with .Values.webhook.namespaceSelector.matchExpressions }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kube-postrender.namespaceLabels" -}}
{{- with .Values.webhook.namespaceSelector.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "kube-postrender.objectSelector" -}}
objectSelector:
  {{- with .Values.webhook.objectSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    - key: owner
      operator: NotIn
      values:
        - helm
    {{- with .Values.webhook.objectSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
