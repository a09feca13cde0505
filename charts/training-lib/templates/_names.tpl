{{/*
Names and labels. A service chart's objects are named <release>-<chart> (or the release name when it
already contains the chart name), so the umbrella release "training" gives training-identity,
training-courses, ... and so do standalone releases named training-identity, training-courses, ...
*/}}

{{- define "training-lib.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "training-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "training-lib.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Shared by every object of the release; `component` tells the server from the hook Jobs. */}}
{{- define "training-lib.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "training-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: training-platform
{{- end -}}

{{/* Every pod of this service, the server's and the hook Jobs' (the NetworkPolicy covers them all). */}}
{{- define "training-lib.podSelector" -}}
app.kubernetes.io/name: {{ include "training-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The server's pods only (Deployment, Service, PodDisruptionBudget). */}}
{{- define "training-lib.selectorLabels" -}}
{{ include "training-lib.podSelector" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "training-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "training-lib.fullname" .) -}}
{{- else -}}
{{- required (printf "%s: serviceAccount.name is required when serviceAccount.create is false (the existing ServiceAccount the pods run as)" .Chart.Name) .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag, or registry/repository@digest when a digest is given. */}}
{{- define "training-lib.image" -}}
{{- $repository := required (printf "%s: image.repository is required (the service's image, e.g. training/%s)" .Chart.Name .Chart.Name) .Values.image.repository -}}
{{- with .Values.global.imageRegistry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "training-lib.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) (.Values.image.pullSecrets | default list) | uniq -}}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}
