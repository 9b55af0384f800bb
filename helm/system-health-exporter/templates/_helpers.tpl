{{/* Name of the chart, overridable. */}}
{{- define "she.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources. */}}
{{- define "she.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "she.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "she.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels that select the pod; never change them on upgrade. */}}
{{- define "she.selectorLabels" -}}
app.kubernetes.io/name: {{ include "she.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Datadog unified service tagging labels. */}}
{{- define "she.datadogLabels" -}}
tags.datadoghq.com/service: {{ .Values.datadog.service | quote }}
tags.datadoghq.com/env: {{ .Values.datadog.env | quote }}
{{- with .Values.datadog.version }}
tags.datadoghq.com/version: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "she.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "she.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{ include "she.datadogLabels" . }}
{{- end }}

{{/* Name of the ServiceAccount. */}}
{{- define "she.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "she.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when one is given. */}}
{{- define "she.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Datadog OpenMetrics check for the Autodiscovery annotation. The instance is the one
scripts/gen_datadog_conf.py writes from the exporter's catalog (files/openmetrics-instance.json,
the same as datadog-agent-conf/conf.d/openmetrics.d/conf.yaml); only the endpoint and the
unified service tags are set here, from the values, and with more than one shard a `shard:<i>` tag.
*/}}
{{- define "she.datadogChecks" -}}
{{- $instance := .Files.Get "files/openmetrics-instance.json" | fromJson }}
{{- $endpoint := printf "http://%s:%d/metrics" "%%host%%" (int .Values.service.port) }}
{{- $tags := concat $instance.tags (list (printf "service:%s" .Values.datadog.service) (printf "env:%s" .Values.datadog.env)) }}
{{- if .Values.datadog.version }}
{{- $tags = append $tags (printf "version:%s" .Values.datadog.version) }}
{{- end }}
{{- if gt (int (default 1 .shards)) 1 }}
{{- /* Series without a repo label (refresh duration, rate limit...) stay apart, shard by shard. */}}
{{- $tags = append $tags (printf "shard:%d" (int .shard)) }}
{{- end }}
{{- $instance = merge (dict "openmetrics_endpoint" $endpoint "tags" $tags) $instance }}
{{- dict "openmetrics" (dict "init_config" (dict) "instances" (list $instance)) | toJson }}
{{- end }}

{{/* A Deployment's name: the release's full name, with `-shard-<i>` when there is more than one shard. */}}
{{- define "she.shardName" -}}
{{- if gt (int (default 1 .shards)) 1 }}
{{- printf "%s-shard-%d" (include "she.fullname" . | trunc 52 | trimSuffix "-") (int .shard) }}
{{- else }}
{{- include "she.fullname" . }}
{{- end }}
{{- end }}

{{/* The label that tells shards' pods apart; none with one shard, so its selector stays as before. */}}
{{- define "she.shardLabel" -}}
{{- if gt (int (default 1 .shards)) 1 }}
system-health-exporter/shard: {{ .shard | quote }}
{{- end }}
{{- end }}
