{{/*
What every pod of the platform shares: a non-root user, a read-only root filesystem with /tmp as the
only writable path, no capabilities, no privilege escalation, the RuntimeDefault seccomp profile,
and no Kubernetes API token (no service calls the API). These are not values: they always hold.
*/}}

{{- define "training-lib.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ int .Values.podSecurityContext.runAsUser }}
  runAsGroup: {{ int .Values.podSecurityContext.runAsGroup }}
  fsGroup: {{ int .Values.podSecurityContext.fsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "training-lib.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: {{ int .Values.podSecurityContext.runAsUser }}
  runAsGroup: {{ int .Values.podSecurityContext.runAsGroup }}
  privileged: false
  capabilities:
    drop:
      - ALL
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "training-lib.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "training-lib.tmpMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Node placement shared by the server and the hook Jobs. */}}
{{- define "training-lib.placement" -}}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Optional pod spec fields (pull secrets, placement), indented by `indent`; nothing when unset. */}}
{{- define "training-lib.optionalPodFields" -}}
{{- $fields := printf "%s\n%s" (include "training-lib.imagePullSecrets" .root | trim) (include "training-lib.placement" .root | trim) | trim -}}
{{- with $fields }}
{{- . | nindent (int $.indent) }}
{{- end }}
{{- end -}}

{{/* A native gRPC probe on grpc.health.v1: dict "root" . "service" NAME "probe" .Values.probes.X */}}
{{- define "training-lib.grpcProbe" -}}
grpc:
  port: {{ int .root.Values.app.grpcPort }}
  service: {{ .service | quote }}
periodSeconds: {{ int .probe.periodSeconds }}
timeoutSeconds: {{ int .probe.timeoutSeconds }}
failureThreshold: {{ int .probe.failureThreshold }}
{{- end -}}

{{/* An HTTP probe of an HTTP app (the gateway): dict "root" . "path" "/healthz" "probe" .Values.probes.x */}}
{{- define "training-lib.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
periodSeconds: {{ int .probe.periodSeconds }}
timeoutSeconds: {{ int .probe.timeoutSeconds }}
failureThreshold: {{ int .probe.failureThreshold }}
{{- end -}}

{{/* The port the app listens on: gRPC for the services, HTTP for an HTTP app (app.httpPort). */}}
{{- define "training-lib.portName" -}}
{{- if .Values.app.httpPort -}}http{{- else -}}grpc{{- end -}}
{{- end -}}

{{- define "training-lib.port" -}}
{{- if .Values.app.httpPort -}}{{ int .Values.app.httpPort }}{{- else -}}{{ int .Values.app.grpcPort }}{{- end -}}
{{- end -}}

{{/* preStop sleep + the service's own shutdown grace + a margin for closing the pool and flushing telemetry. */}}
{{- define "training-lib.terminationGracePeriodSeconds" -}}
{{- addf .Values.preStopSleepSeconds .Values.shutdownGraceSeconds .Values.terminationMarginSeconds | ceil | int64 -}}
{{- end -}}
