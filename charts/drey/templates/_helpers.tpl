{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "drey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name every object is called by; the release name alone when it already contains the chart name. */}}
{{- define "drey.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The SQL Gateway's objects' name. */}}
{{- define "drey.sqlGatewayName" -}}
{{- printf "%s-sql-gateway" (include "drey.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "drey.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: drey
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of drey's own pods (immutable once installed: never add to them). */}}
{{- define "drey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Selector labels of the SQL Gateway's pods. */}}
{{- define "drey.sqlGatewaySelectorLabels" -}}
app.kubernetes.io/name: {{ include "drey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sql-gateway
{{- end }}

{{/* The service account drey's pods run as. */}}
{{- define "drey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "drey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* drey's image reference: a digest wins over the tag; the tag defaults to the chart's appVersion. */}}
{{- define "drey.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* An image reference from {repository, tag, digest}. */}}
{{- define "drey.imageRef" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}

{{/* The in-cluster URL of the chart's SQL Gateway, or the external one configured. */}}
{{- define "drey.sqlGatewayUrl" -}}
{{- if .Values.sqlGateway.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "drey.sqlGatewayName" .) .Release.Namespace (int .Values.sqlGateway.service.port) }}
{{- else }}
{{- .Values.sqlGateway.externalUrl }}
{{- end }}
{{- end }}

{{/* Whether the API serves HTTPS, so the test and probes know the scheme. */}}
{{- define "drey.apiScheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* The PromQL label matchers selecting this release's drey targets (ServiceMonitor job = Service name, PodMonitor job = namespace/name). */}}
{{- define "drey.promSelector" -}}
namespace="{{ .Release.Namespace }}",job=~".*{{ include "drey.fullname" . }}.*"
{{- end }}

{{/* The RBAC rules drey uses in a namespace, and no more: the FlinkDeployments it owns. */}}
{{- define "drey.rbacRules" -}}
# read through one list-then-watch; written by server-side apply (patch, create when new), merge patch and delete
- apiGroups: ["flink.apache.org"]
  resources: ["flinkdeployments"]
  verbs: ["list", "watch", "create", "patch", "delete"]
{{- end }}

{{/*
CMF_ENCRYPTION_KEYS: the current key first (it seals), then every previous key (they only open), each
read from the file its Secret is mounted as. Ids must differ, which values.schema.json cannot say.
*/}}
{{- define "drey.encryptionKeys" -}}
{{- $e := .Values.encryption }}
{{- $keys := list (printf "%s=file:/etc/drey/encryption/%s" $e.keyId $e.existingSecret.key) }}
{{- $ids := list $e.keyId }}
{{- range $e.previousKeys }}
{{- if has .id $ids }}
{{- fail (printf "encryption.previousKeys: the id '%s' is used twice (encryption.keyId and each previous key need ids of their own)" .id) }}
{{- end }}
{{- $ids = append $ids .id }}
{{- $keys = append $keys (printf "%s=file:/etc/drey/encryption-previous/%s/%s" .id .id .existingSecret.key) }}
{{- end }}
{{- join "," $keys }}
{{- end }}

{{/* The hardened container securityContext every container of the chart gets. */}}
{{- define "drey.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end }}
