{{/* The release's full name: the release name, with the chart name appended unless it is in it. */}}
{{- define "lunora-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lunora-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lunora-operator.labels" -}}
{{ include "lunora-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lunora-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lunora-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lunora-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Metadata of a CRD under templates/crds/: the chart's labels, and the keep policy. */}}
{{- define "lunora-operator.crdMetadata" -}}
labels:
  {{- include "lunora-operator.labels" . | nindent 2 }}
{{- if .Values.crds.keep }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}
{{- end -}}

{{/* Whether the kopf peering CRDs are rendered. */}}
{{- define "lunora-operator.kopfPeeringCrds" -}}
{{- if and .Values.crds.enabled .Values.crds.kopfPeering .Values.peering.enabled }}true{{ end -}}
{{- end -}}

{{/*
Values that cannot be checked by values.schema.json alone: each failure names the values and
the fix.
*/}}
{{- define "lunora-operator.validate" -}}
{{- if and (not .Values.peering.enabled) (gt (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount > 1 needs peering.enabled: without peering every replica would reconcile the same objects" -}}
{{- end -}}
{{- if and (not .Values.peering.enabled) .Values.strategy (ne (default "" .Values.strategy.type) "Recreate") -}}
{{- fail "strategy: without peering (peering.enabled false) only Recreate keeps two operator Pods from running at once" -}}
{{- end -}}
{{- if .Values.rbac.namespaced -}}
{{- if not .Values.watchNamespaces -}}
{{- fail "rbac.namespaced needs watchNamespaces: list the namespaces to create Roles in" -}}
{{- end -}}
{{- range .Values.watchNamespaces -}}
{{- if regexMatch "[*?\\[]" . -}}
{{- fail (printf "watchNamespaces: %q is a pattern; rbac.namespaced needs exact namespace names (or set rbac.namespaced false)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not (and .Values.metrics.enabled .Values.metrics.service.enabled)) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled and metrics.service.enabled" -}}
{{- end -}}
{{- end -}}
