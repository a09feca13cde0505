{{/*
The service's settings as environment variables (names carry the service's prefix, e.g. IDENTITY_).
Non-secret settings come from `config` (values may use templates, e.g. the release name) plus the
values the chart owns (port, shutdown grace, stream replicas, face workers); they fill the ConfigMap
and, inline, the hook Jobs (which run before the ConfigMap exists on a first install). Secret settings
are always references to existing Secrets, never values.
*/}}

{{- define "training-lib.settings" -}}
{{- $prefix := .Values.app.envPrefix -}}
{{- $settings := dict -}}
{{- $owned := dict "GRPC_PORT" "app.grpcPort" "HTTP_PORT" "app.httpPort" "SHUTDOWN_GRACE_SECONDS" "shutdownGraceSeconds" "NATS_STREAM_REPLICAS" "global.nats.streamReplicas" "FACE_WORKERS" "faceWorkers.workers" "DATABASE_URL" "database.url" "NATS_URL" "global.nats.url" "NATS_USER" "global.nats.user" "NATS_PASSWORD" "global.nats.password" "NATS_TOKEN" "global.nats.token" -}}
{{- range $name, $value := .Values.config -}}
{{- if hasKey $owned $name -}}
{{- fail (printf "%s: config.%s is set by the chart: use %s instead" $.Chart.Name $name (get $owned $name)) -}}
{{- end -}}
{{- if regexMatch "(SECRET|PASSWORD|TOKEN|_KEY|_KEYS|_CLIENTS)$" $name -}}
{{- fail (printf "%s: config.%s holds a secret: put it in an existing Secret and reference it as secretEnv.%s (name, key)" $.Chart.Name $name $name) -}}
{{- end -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $settings (printf "%s%s" $prefix $name) (tpl (toString $value) $) -}}
{{- end -}}
{{- end -}}
{{- if .Values.app.httpPort -}}
{{- $_ := set $settings (printf "%sHTTP_PORT" $prefix) (toString (int .Values.app.httpPort)) -}}
{{- else -}}
{{- $_ := set $settings (printf "%sGRPC_PORT" $prefix) (toString (int .Values.app.grpcPort)) -}}
{{- end -}}
{{- $_ := set $settings (printf "%sSHUTDOWN_GRACE_SECONDS" $prefix) (toString .Values.shutdownGraceSeconds) -}}
{{- if .Values.app.streams -}}
{{- $_ := set $settings (printf "%sNATS_STREAM_REPLICAS" $prefix) (toString (int .Values.global.nats.streamReplicas)) -}}
{{- end -}}
{{- with .Values.faceWorkers -}}
{{- $_ := set $settings (printf "%sFACE_WORKERS" $prefix) (toString (int .workers)) -}}
{{- end -}}
{{- toYaml $settings -}}
{{- end -}}

{{/* The settings as an env list (for the hook Jobs). */}}
{{- define "training-lib.settingsEnv" -}}
{{- $settings := include "training-lib.settings" . | fromYaml -}}
{{- range $name := keys $settings | sortAlpha }}
- name: {{ $name }}
  value: {{ get $settings $name | quote }}
{{- end }}
{{- end -}}

{{/* One variable from a key of an existing Secret: dict "env" NAME "ref" {name,key} "path" "values.path" "chart" NAME */}}
{{- define "training-lib.secretKeyEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s: %s.name is required: the existing Secret that holds %s" .chart .path .env) .ref.name }}
      key: {{ required (printf "%s: %s.key is required: the key of Secret %s that holds %s" .chart .path .ref.name .env) .ref.key }}
{{- end -}}

{{/* NATS URL and credentials, with the given prefix ("" for the stream-provisioning Job). */}}
{{- define "training-lib.natsEnv" -}}
{{- $nats := .root.Values.global.nats -}}
{{- $chart := .root.Chart.Name -}}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%sNATS_URL" .prefix) "ref" $nats.url "path" "global.nats.url" "chart" $chart) }}
{{- if $nats.user.name }}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%sNATS_USER" .prefix) "ref" $nats.user "path" "global.nats.user" "chart" $chart) }}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%sNATS_PASSWORD" .prefix) "ref" $nats.password "path" "global.nats.password" "chart" $chart) }}
{{- end }}
{{- if $nats.token.name }}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%sNATS_TOKEN" .prefix) "ref" $nats.token "path" "global.nats.token" "chart" $chart) }}
{{- end }}
{{- end -}}

{{/* Every secret setting of the service: database URL, NATS, and the service's own (`secretEnv`).
An app without a database (no `database` value) or without streams (the gateway) gets neither. */}}
{{- define "training-lib.secretEnv" -}}
{{- $prefix := .Values.app.envPrefix -}}
{{- $chart := .Chart.Name -}}
{{- if .Values.database }}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%sDATABASE_URL" $prefix) "ref" .Values.database.url "path" "database.url" "chart" $chart) }}
{{- end }}
{{- if .Values.app.streams }}
{{ include "training-lib.natsEnv" (dict "root" . "prefix" $prefix) }}
{{- end }}
{{- range $name := keys .Values.secretEnv | sortAlpha }}
{{ include "training-lib.secretKeyEnv" (dict "env" (printf "%s%s" $prefix $name) "ref" (get $.Values.secretEnv $name) "path" (printf "secretEnv.%s" $name) "chart" $chart) }}
{{- end }}
{{- end -}}
