{{- define "training-lib.deployment" -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ int .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "training-lib.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "training-lib.labels" . | nindent 8 }}
        app.kubernetes.io/component: server
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/settings: {{ include "training-lib.settings" . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "training-lib.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ include "training-lib.terminationGracePeriodSeconds" . }}
      {{- include "training-lib.podSecurityContext" . | nindent 6 }}
      {{- include "training-lib.optionalPodFields" (dict "root" . "indent" 6) }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      topologySpreadConstraints:
      {{- if .Values.topologySpreadConstraints }}
        {{- toYaml .Values.topologySpreadConstraints | nindent 8 }}
      {{- else }}
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "training-lib.selectorLabels" . | nindent 14 }}
      {{- end }}
      containers:
        - name: {{ include "training-lib.name" . }}
          image: {{ include "training-lib.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args: ["serve"]
          ports:
            - name: {{ include "training-lib.portName" . }}
              containerPort: {{ include "training-lib.port" . }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "training-lib.fullname" . }}
          {{- with include "training-lib.secretEnv" . | trim }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          {{- if .Values.app.httpPort }}
          # Started and alive: the process answers /healthz; ready: /readyz (the services it needs answer).
          startupProbe:
            {{- include "training-lib.httpProbe" (dict "root" . "path" "/healthz" "probe" .Values.probes.startup) | nindent 12 }}
          livenessProbe:
            {{- include "training-lib.httpProbe" (dict "root" . "path" "/healthz" "probe" .Values.probes.liveness) | nindent 12 }}
          readinessProbe:
            {{- include "training-lib.httpProbe" (dict "root" . "path" "/readyz" "probe" .Values.probes.readiness) | nindent 12 }}
          {{- else }}
          # Started and alive: the process answers (health service "liveness"), whatever its dependencies do.
          startupProbe:
            {{- include "training-lib.grpcProbe" (dict "root" . "service" "liveness" "probe" .Values.probes.startup) | nindent 12 }}
          livenessProbe:
            {{- include "training-lib.grpcProbe" (dict "root" . "service" "liveness" "probe" .Values.probes.liveness) | nindent 12 }}
          # Ready: SERVING only while PostgreSQL and NATS answer, NOT_SERVING from the start of a shutdown.
          readinessProbe:
            {{- include "training-lib.grpcProbe" (dict "root" . "service" .Values.app.grpcService "probe" .Values.probes.readiness) | nindent 12 }}
          {{- end }}
          {{- if gt (float64 .Values.preStopSleepSeconds) 0.0 }}
          # Endpoints drop the pod while it still serves; SIGTERM follows the sleep.
          lifecycle:
            preStop:
              sleep:
                seconds: {{ int .Values.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- include "training-lib.resources" . | nindent 12 }}
          {{- include "training-lib.containerSecurityContext" . | nindent 10 }}
          {{- include "training-lib.tmpMount" . | nindent 10 }}
      {{- include "training-lib.tmpVolume" . | nindent 6 }}
{{- end -}}
