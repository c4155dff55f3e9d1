{{- define "filelink-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: the release name, unless it already says it all. */}}
{{- define "filelink-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "filelink-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "filelink-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "filelink-operator.labels" -}}
{{ include "filelink-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* metadata.labels and, when set, metadata.annotations of every object. */}}
{{- define "filelink-operator.metadata" -}}
labels:
  {{- include "filelink-operator.labels" . | nindent 2 }}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "filelink-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "filelink-operator.webhookSecret" -}}
{{- .Values.webhook.secretName | default (printf "%s-webhook-server-cert" (include "filelink-operator.fullname" .)) }}
{{- end }}

{{/* The manager's ServiceAccount: the one the chart creates, or serviceAccount.name. */}}
{{- define "filelink-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (printf "%s-controller-manager" (include "filelink-operator.fullname" .)) }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The link base URL: linkBaseURL when set, else where the HTTPRoute or the Ingress
publishes links (https when the route's Gateway or the Ingress terminates TLS), else
the manager's own default, which only a port-forward reaches. */}}
{{- define "filelink-operator.linkBaseURL" -}}
{{- if .Values.linkBaseURL }}
{{- .Values.linkBaseURL }}
{{- else if and .Values.gateway.enabled .Values.gateway.hostnames }}
{{- printf "%s://%s" .Values.gateway.scheme (first .Values.gateway.hostnames) }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls))) .Values.ingress.host }}
{{- else }}
{{- "http://localhost:8082" }}
{{- end }}
{{- end }}

{{/* Whether cert-manager issues the metrics server's certificate. */}}
{{- define "filelink-operator.metricsCertManager" -}}
{{- and .Values.metrics.enabled .Values.metrics.secure .Values.metrics.certManager (not .Values.metrics.secretName) }}
{{- end }}

{{/* The Secret (tls.crt, tls.key, ca.crt) the metrics server serves, when any: one
cert-manager issues, or metrics.secretName. Empty: the manager signs its own. */}}
{{- define "filelink-operator.metricsSecret" -}}
{{- if .Values.metrics.secretName }}
{{- .Values.metrics.secretName }}
{{- else if eq (include "filelink-operator.metricsCertManager" .) "true" }}
{{- printf "%s-metrics-server-cert" (include "filelink-operator.fullname" .) }}
{{- end }}
{{- end }}
