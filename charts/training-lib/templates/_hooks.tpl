{{/*
Hook Jobs, run by Helm before the release's objects on every install and upgrade: first the JetStream
streams the service publishes to and consumes from are created or updated, then the database is
migrated (Alembic upgrade to head). A failed Job fails the install or upgrade and stays for inspection;
a succeeded one is deleted.

The Jobs run before the ConfigMap and the ServiceAccount of a first install exist, so their settings
are inline and they use the namespace's default ServiceAccount (with no API token), unless the pods
run as an existing ServiceAccount (`serviceAccount.create: false`).
*/}}

{{- define "training-lib.hookPodSpec" -}}
restartPolicy: Never
{{- if not .root.Values.serviceAccount.create }}
serviceAccountName: {{ include "training-lib.serviceAccountName" .root }}
{{- end }}
automountServiceAccountToken: false
enableServiceLinks: false
{{ include "training-lib.podSecurityContext" .root }}
{{- include "training-lib.optionalPodFields" (dict "root" .root "indent" 0) }}
containers:
  - name: {{ .name }}
    image: {{ include "training-lib.image" .root }}
    imagePullPolicy: {{ .root.Values.image.pullPolicy }}
    {{- with .command }}
    command:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    env:
      {{- .env | nindent 6 }}
    resources:
      {{- toYaml .job.resources | nindent 6 }}
    {{- include "training-lib.containerSecurityContext" .root | nindent 4 }}
    {{- include "training-lib.tmpMount" .root | nindent 4 }}
{{ include "training-lib.tmpVolume" .root }}
{{- end -}}

{{- define "training-lib.hookJob" -}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" (include "training-lib.fullname" .root) .name }}
  labels:
    {{- include "training-lib.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ int .job.backoffLimit }}
  activeDeadlineSeconds: {{ int .job.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "training-lib.labels" .root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
    spec:
      {{- include "training-lib.hookPodSpec" . | nindent 6 }}
{{- end -}}

{{- define "training-lib.streamsJob" -}}
{{- if and .Values.streams .Values.streams.provision -}}
{{- $env := printf "%s\n- name: NATS_STREAM_REPLICAS\n  value: %q" (include "training-lib.natsEnv" (dict "root" . "prefix" "")) (toString (int .Values.global.nats.streamReplicas)) -}}
{{- $command := list "python" "-m" "training_events" "provision" "--contexts" (join "," .Values.app.streams) -}}
{{ include "training-lib.hookJob" (dict "root" . "name" "streams" "component" "streams" "weight" -10 "job" .Values.streams "command" $command "env" $env) }}
{{- end -}}
{{- end -}}

{{- define "training-lib.migrationJob" -}}
{{- if and .Values.migrations .Values.migrations.enabled -}}
{{- $env := printf "%s\n%s" (include "training-lib.settingsEnv" . | trim) (include "training-lib.secretEnv" . | trim) -}}
{{ include "training-lib.hookJob" (dict "root" . "name" "migrate" "component" "migration" "weight" -5 "job" .Values.migrations "args" (list "migrate") "env" $env) }}
{{- end -}}
{{- end -}}
