{{/*
Container resources: the service's own `resources`, raised by `faceWorkers.workers` times
`faceWorkers.resourcesPerWorker` when the chart has a face-matching worker pool (identity), because
the workers are processes inside the same container.
*/}}

{{/* A CPU quantity ("250m", "1.5", 2) in millicores. */}}
{{- define "training-lib.millicores" -}}
{{- if kindIs "string" . -}}
{{- if hasSuffix "m" . -}}
{{- trimSuffix "m" . | float64 | ceil | int64 -}}
{{- else -}}
{{- mulf (float64 .) 1000 | ceil | int64 -}}
{{- end -}}
{{- else -}}
{{- mulf (float64 .) 1000 | ceil | int64 -}}
{{- end -}}
{{- end -}}

{{/* A memory quantity ("512Mi", "1G", 1073741824) in bytes. */}}
{{- define "training-lib.bytes" -}}
{{- if kindIs "string" . -}}
{{- $units := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $number . -}}
{{- if or (not $number) (and $unit (not (hasKey $units $unit))) -}}
{{- fail (printf "memory quantity %q is not supported here: use a number with Ki, Mi, Gi, Ti, k, M, G or T" .) -}}
{{- end -}}
{{- mulf (float64 $number) (get $units $unit | default 1.0) | ceil | int64 -}}
{{- else -}}
{{- float64 . | ceil | int64 -}}
{{- end -}}
{{- end -}}

{{- define "training-lib.resources" -}}
{{- $resources := deepCopy (.Values.resources | default dict) -}}
{{- with .Values.faceWorkers -}}
{{- $workers := int64 .workers -}}
{{- range $section, $perWorker := .resourcesPerWorker -}}
{{- $total := get $resources $section | default dict -}}
{{- with get $perWorker "cpu" -}}
{{- $base := include "training-lib.millicores" (get $total "cpu" | default "0") | int64 -}}
{{- $extra := mul (include "training-lib.millicores" . | int64) $workers -}}
{{- $_ := set $total "cpu" (printf "%dm" (add $base $extra)) -}}
{{- end -}}
{{- with get $perWorker "memory" -}}
{{- $sum := add (include "training-lib.bytes" (get $total "memory" | default "0") | int64) (mul (include "training-lib.bytes" . | int64) $workers) -}}
{{- if eq (mod $sum 1048576) 0 -}}
{{- $_ := set $total "memory" (printf "%dMi" (div $sum 1048576)) -}}
{{- else -}}
{{- $_ := set $total "memory" (toString $sum) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $resources $section $total -}}
{{- end -}}
{{- end -}}
{{- toYaml $resources -}}
{{- end -}}
