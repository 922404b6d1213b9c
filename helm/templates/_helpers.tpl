{{/*
The services, once, for every template that needs them (Deployments,
Services, PodDisruptionBudgets, the Ingress's backend ports):
  name     the binary (/usr/local/bin/<name>) and the component label
  values   its block in values.yaml
  port     HTTP_PORT, the same as in the local stack
  db       its database (order-api and the mediator share `orders`)
  jwt      the JWT key files it mounts: private, the key pair from the
           credentials Secret (auth, which signs); public, jwt-public.pem
           alone from the verifiers' ConfigMap (shop.jwtPublicName), so a
           verifier's pod never names the Secret that holds the credentials
  tokens   the service credential it sends: its own, <caller>-token of the
           credentials Secret as <CALLER>_SERVICE_TOKEN (the callers)
  digests  the callers whose credential it checks: <caller>-token-sha256 of
           the digests Secret (shop.digestSecretName) as
           <CALLER>_SERVICE_TOKEN_SHA256, the hex SHA-256 of the credential
           (the callees). A callee holds no credential, so a leak from one
           cannot call anything: it answers 403 to a caller at another's
           endpoint and 401 to a stranger all the same
  redis    whether it gets REDIS_URL
  callers  the services whose pods may call it inside the cluster (its
           NetworkPolicy); the ingress controller reaches the services the
           Ingresses' routes name
  admin    whether it keeps the administrator (ADMIN_USERNAME and the
           admin Secret's password as ADMIN_PASSWORD_FILE): auth only
Read it with: (include "shop.services" . | fromYaml).services
*/}}
{{- define "shop.services" -}}
services:
  - {name: auth, values: auth, port: 8001, db: auth, jwt: private, tokens: [auth], digests: [], redis: false, callers: [], admin: true}
  - {name: billing, values: billing, port: 8002, db: billing, jwt: public, tokens: [], digests: [auth, mediator], redis: false, callers: [auth, mediator], admin: false}
  - {name: order-api, values: orderApi, port: 8003, db: orders, jwt: public, tokens: [], digests: [], redis: true, callers: [], admin: false}
  - {name: items, values: items, port: 8004, db: items, jwt: "", tokens: [], digests: [auth, mediator], redis: false, callers: [mediator], admin: false}
  - {name: slots, values: slots, port: 8005, db: slots, jwt: "", tokens: [], digests: [auth, mediator], redis: false, callers: [mediator], admin: false}
  - {name: mediator, values: mediator, port: 8006, db: orders, jwt: "", tokens: [mediator], digests: [], redis: true, callers: [], admin: false}
{{- end -}}

{{/*
The databases, each owned by a PostgreSQL role of the same name (order-api
and the mediator share orders and its role).
Read it with: (include "shop.databases" . | fromYaml).databases
*/}}
{{- define "shop.databases" -}}
{{- $dbs := list }}
{{- range (include "shop.services" . | fromYaml).services }}
{{- $dbs = append $dbs .db }}
{{- end }}
databases: {{ $dbs | uniq | toJson }}
{{- end -}}

{{/*
The public API (SPEC section 2), the only paths the public Ingresses route
(templates/ingress.yaml). limit: the block of ingress.* whose rate limit
the path takes, on an Ingress of its own per block (ingress-nginx keeps one
allowance per Ingress): rateLimit, sign-up, login, refresh, logout and
verify together; ordersRateLimit, the orders. Without it, or with that
limit disabled, the path is on the Ingress <fullname>.
*/}}
{{- define "shop.publicRoutes" -}}
routes:
  - {path: /api/auth/users, service: auth, limit: rateLimit}
  - {path: /api/token, service: auth, limit: rateLimit}
  - {path: /api/accounts, service: billing}
  - {path: /api/orders, service: order-api, limit: ordersRateLimit}
  - {path: /api/openapi.yaml, service: auth}
{{- end -}}

{{/*
The operators' paths (SPEC section 7): the admin API and its console, on
the Ingress <fullname>-admin alone (adminIngress), never on a public one.
signIn: the console and shopctl sign in on their own origin (POST
/api/token/, refresh, logout), so the admin Ingress routes it too unless a
public Ingress already does on the same host (two Ingresses may not route
one host and path).
*/}}
{{- define "shop.adminRoutes" -}}
routes:
  - {path: /api/admin, service: order-api}
  - {path: /console, service: order-api}
  - {path: /api/token, service: auth, signIn: true}
{{- end -}}

{{- define "shop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "shop.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of one component's objects: (dict "ctx" $ "component" "auth") */}}
{{- define "shop.componentLabels" -}}
{{ include "shop.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector of one component (a subset of its labels that never changes). */}}
{{- define "shop.selector" -}}
{{ include "shop.releaseSelector" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shop.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "shop.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "shop.fullname" .)) -}}
{{- end -}}

{{/* The callees' Secret: the credentials' digests alone (shop.credentials). */}}
{{- define "shop.digestSecretName" -}}
{{- .Values.secrets.existingDigestSecret | default (printf "%s-service-digests" (include "shop.fullname" .)) -}}
{{- end -}}

{{/* The verifiers' ConfigMap: jwt-public.pem alone (shop.credentials). */}}
{{- define "shop.jwtPublicName" -}}
{{- printf "%s-jwt-public" (include "shop.fullname" .) -}}
{{- end -}}

{{- define "shop.adminSecretName" -}}
{{- .Values.admin.existingSecret | default (printf "%s-admin" (include "shop.fullname" .)) -}}
{{- end -}}

{{/* Where auth finds the administrator's password: the file admin-password. */}}
{{- define "shop.adminDir" -}}
/etc/shop/admin
{{- end -}}

{{/* Every pod of this release, services and stores. */}}
{{- define "shop.releaseSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Where the databases are: "statefulset" (the in-chart pod), "cloudnativepg"
(a CloudNativePG Cluster of the chart's, cloudnativepg.yaml) or "external"
(postgresql.enabled false: externalDatabase).
*/}}
{{- define "shop.postgresqlMode" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.mode | default "statefulset" -}}
{{- else -}}
external
{{- end -}}
{{- end -}}

{{/* The CloudNativePG Cluster's name; its primary is the Service <name>-rw. */}}
{{- define "shop.cnpgClusterName" -}}
{{- printf "%s-postgresql" (include "shop.fullname" .) -}}
{{- end -}}

{{/* The basic-auth Secret of one managed role: (dict "ctx" $ "db" "auth"). */}}
{{- define "shop.cnpgRoleSecretName" -}}
{{- printf "%s-postgresql-%s" (include "shop.fullname" .ctx) .db -}}
{{- end -}}

{{/* The host the in-chart databases are reached at (no port): the Service
of the StatefulSet, or the Cluster's read-write Service, which follows the
primary through a failover. */}}
{{- define "shop.postgresqlHost" -}}
{{- if eq (include "shop.postgresqlMode" .) "cloudnativepg" -}}
{{- printf "%s-rw" (include "shop.cnpgClusterName" .) -}}
{{- else -}}
{{- printf "%s-postgresql" (include "shop.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "shop.postgresSecretName" -}}
{{- .Values.postgresql.existingSecret | default (printf "%s-postgresql" (include "shop.fullname" .)) -}}
{{- end -}}

{{- define "shop.redisSecretName" -}}
{{- if .Values.redis.enabled -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis" (include "shop.fullname" .)) -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret | default (printf "%s-external-redis" (include "shop.fullname" .)) -}}
{{- end -}}
{{- end -}}

{{/*
The external Redis Cluster, YAML {nodes, username, passwordSecret, tls};
nodes empty: none (the in-chart Redis, or an external one by URL).
*/}}
{{- define "shop.redisCluster" -}}
{{- if .Values.redis.enabled -}}
nodes: []
{{- else -}}
{{- $c := .Values.externalRedis.cluster | default dict -}}
{{- if and $c.nodes (or .Values.externalRedis.url .Values.externalRedis.existingSecret) -}}
{{- fail "externalRedis.cluster.nodes names the cluster: leave externalRedis.url and externalRedis.existingSecret empty" -}}
{{- end -}}
{{- toYaml (dict "nodes" ($c.nodes | default list) "username" ($c.username | default "") "passwordSecret" ($c.passwordSecret | default dict) "tls" ($c.tls | default false)) -}}
{{- end -}}
{{- end -}}

{{/* The key of the full Redis URL in shop.redisSecretName. */}}
{{- define "shop.redisSecretKey" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecretKey -}}
{{- else -}}
redis-url
{{- end -}}
{{- end -}}

{{/*
DATABASE_URL of one database: (dict "ctx" $ "db" "auth"). The password
comes from a Secret into DATABASE_PASSWORD and Kubernetes substitutes
$(DATABASE_PASSWORD), so it never appears in a ConfigMap or the pod spec.
Each database has a role of its own, so a service can reach its own data
only: the in-chart PostgreSQL's role is named after the database, an
external server's is externalDatabase.roles (or the shared username).
Where: the in-chart Service (a CloudNativePG Cluster's <cluster>-rw, the
primary's); externalDatabase.host:port; or every one of externalDatabase.hosts
(host1:5432,host2:5432, libpq's multi-host URL), whose query then carries
target_session_attrs=read-write (shop.databaseUrlQuery), so a connection
goes to whichever server is the primary.
TLS: the query of shop.databaseUrlQuery (_tls.tpl), e.g.
?sslmode=verify-full&sslrootcert=/etc/shop/tls/postgresql-ca.crt; a URL
from externalDatabase.existingSecret carries its own.
*/}}
{{- define "shop.databaseEnv" -}}
{{- $v := .ctx.Values -}}
{{- if $v.postgresql.enabled }}
{{- $cnpg := eq (include "shop.postgresqlMode" .ctx) "cloudnativepg" }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if $cnpg }}
      name: {{ include "shop.cnpgRoleSecretName" . }}
      key: password
      {{- else }}
      name: {{ include "shop.postgresSecretName" .ctx }}
      key: {{ .db }}-password
      {{- end }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:5432/%s%s" .db (include "shop.postgresqlHost" .ctx) .db (include "shop.databaseUrlQuery" .) | quote }}
{{- else if $v.externalDatabase.existingSecret }}
{{- if $v.externalDatabase.hosts }}
{{- fail "externalDatabase.hosts is for URLs the chart builds: with externalDatabase.existingSecret put the hosts (and target_session_attrs=read-write) in each URL" }}
{{- end }}
{{- if $v.externalDatabase.sslmode }}
{{- fail "externalDatabase.sslmode is for URLs the chart builds (externalDatabase.host): with externalDatabase.existingSecret put sslmode (and sslrootcert) in each URL" }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalDatabase.existingSecret }}
      key: {{ printf "%s-url" .db }}
{{- else }}
{{- $db := $v.externalDatabase }}
{{- $role := index ($db.roles | default dict) .db }}
{{- $user := $role }}
{{- if not $role }}
{{- $user = required (printf "externalDatabase.roles.%s (or the shared externalDatabase.username) is required with externalDatabase.host" .db) $db.username }}
{{- end }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "postgresql.enabled is false: set externalDatabase.existingSecret, or externalDatabase.host with passwordSecret" $db.passwordSecret }}
      key: {{ ternary (printf "%s-password" .db) $db.passwordKey (not (empty $role)) }}
{{- $servers := list }}
{{- if $db.hosts }}
{{- if $db.host }}
{{- fail "externalDatabase: set host (one server) or hosts (a primary and its standbys), not both" }}
{{- end }}
{{- range $db.hosts }}
{{- $servers = append $servers (printf "%s:%v" .host (.port | default 5432)) }}
{{- end }}
{{- else }}
{{- $servers = append $servers (printf "%s:%v" (required "postgresql.enabled is false: set externalDatabase.existingSecret, externalDatabase.host or externalDatabase.hosts" $db.host) $db.port) }}
{{- end }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s/%s%s" $user (join "," $servers) (index $db.databases .db) (include "shop.databaseUrlQuery" .) | quote }}
{{- end }}
{{- end -}}

{{/*
REDIS_URL, for order-api and the mediator: always from a Secret, since the
URL carries Redis's password. A Redis Cluster (externalRedis.cluster.nodes)
is the exception: REDIS_PASSWORD comes from its Secret and Kubernetes puts
$(REDIS_PASSWORD) into redis+cluster://:$(REDIS_PASSWORD)@node,node (or
rediss+cluster://), as for DATABASE_URL, so the pod spec holds no password.
REDIS_CA_FILE: the CA that signed the server's certificate (rediss://),
mounted by shop.caVolume: the in-chart Redis's with redis.tls, else
externalRedis.caSecret's if given.
*/}}
{{- define "shop.redisEnv" -}}
{{- $cluster := include "shop.redisCluster" . | fromYaml }}
{{- if $cluster.nodes }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalRedis.cluster.passwordSecret.name: the Secret of the cluster's password" $cluster.passwordSecret.name }}
      key: {{ $cluster.passwordSecret.key | default "redis-password" }}
- name: REDIS_URL
  value: {{ printf "%s://%s:$(REDIS_PASSWORD)@%s" (ternary "rediss+cluster" "redis+cluster" (eq $cluster.tls true)) ($cluster.username | default "") (join "," $cluster.nodes) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "shop.redisSecretName" . }}
      key: {{ include "shop.redisSecretKey" . }}
{{- end }}
{{- if ternary .Values.redis.tls.enabled .Values.externalRedis.caSecret.name .Values.redis.enabled }}
- name: REDIS_CA_FILE
  value: {{ printf "%s/redis-ca.crt" (include "shop.caDir" .) | quote }}
{{- end }}
{{- end -}}

{{/*
OpenTelemetry, for one service: (dict "ctx" $ "service" "auth"). The SDK's
standard variables, with tracing.otlpEndpoint only (nothing otherwise, and
the service exports no traces): the endpoint, the service's own name, and
the sampler and its argument when set. samplerArg may be a number, and 0 is
a ratio, not "unset".
*/}}
{{- define "shop.tracingEnv" -}}
{{- $t := .ctx.Values.tracing | default dict -}}
{{- if $t.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $t.otlpEndpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .service | quote }}
{{- with $t.sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- if and (hasKey $t "samplerArg") (ne (toString $t.samplerArg) "") }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ toString $t.samplerArg | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The checksum of one Secret a pod reads: (list existingSecret "template" $).
A generated Secret's rendered content, so a changed value rolls the pods;
a Secret the user brings is not the chart's to read, so its name only:
after changing its content, `kubectl rollout restart` the Deployments.
*/}}
{{- define "shop.secretChecksum" -}}
{{- $existing := index . 0 -}}
{{- if $existing -}}
{{- $existing | sha256sum -}}
{{- else -}}
{{- include (index . 1) (index . 2) | sha256sum -}}
{{- end -}}
{{- end -}}

{{/*
Pod annotations of one service, (dict "ctx" $ "service" $s): a checksum of
the ConfigMap and of every Secret it reads. Environment variables and
envFrom are read at start only, so without them an upgrade that changes a
value or a password would leave the pods running with the old one. The
digests and the public key are the chart's own rendering (shop.credentials)
unless the digests' Secret is brought.
*/}}
{{- define "shop.checksums" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
{{- if or .service.tokens (eq .service.jwt "private") }}
checksum/secrets: {{ include "shop.secretChecksum" (list $v.secrets.existingSecret "shop.secret.main" $ctx) }}
{{- end }}
{{- if or .service.digests (eq .service.jwt "public") }}
{{- $credentials := include "shop.credentials" $ctx | fromYaml }}
{{- if .service.digests }}
checksum/digests: {{ $v.secrets.existingDigestSecret | default (toYaml $credentials.digests) | sha256sum }}
{{- end }}
{{- if eq .service.jwt "public" }}
checksum/jwt-public: {{ $credentials.jwtPublic | b64dec | sha256sum }}
{{- end }}
{{- end }}
{{- if eq (include "shop.postgresqlMode" $ctx) "cloudnativepg" }}
checksum/database: {{ include "shop.secret.cnpgRole" (dict "ctx" $ctx "db" .service.db) | sha256sum }}
{{- else if $v.postgresql.enabled }}
checksum/database: {{ include "shop.secretChecksum" (list $v.postgresql.existingSecret "shop.secret.postgresql" $ctx) }}
{{- else }}
checksum/database: {{ $v.externalDatabase.existingSecret | default $v.externalDatabase.passwordSecret | sha256sum }}
{{- end }}
{{- if .service.redis }}
{{- $cluster := include "shop.redisCluster" $ctx | fromYaml }}
{{- if $v.redis.enabled }}
checksum/redis: {{ include "shop.secretChecksum" (list $v.redis.existingSecret "shop.secret.redis" $ctx) }}
{{- else if $cluster.nodes }}
checksum/redis: {{ $cluster.passwordSecret.name | sha256sum }}
{{- else }}
checksum/redis: {{ include "shop.secretChecksum" (list $v.externalRedis.existingSecret "shop.secret.externalRedis" $ctx) }}
{{- end }}
{{- end }}
{{- if and .service.admin $v.admin.username }}
checksum/admin: {{ include "shop.secretChecksum" (list $v.admin.existingSecret "shop.secret.admin" $ctx) }}
{{- end }}
{{- include "shop.caChecksums" . }}
{{- end -}}

{{/*
A NetworkPolicy peer from a pair of label selectors in values,
{namespaceSelector, podSelector}: both empty is no peer at all (an empty
namespaceSelector would admit every namespace). Renders a YAML list of at
most one peer.
*/}}
{{- define "shop.selectorPeer" -}}
{{- $peer := dict }}
{{- with .namespaceSelector }}{{ $_ := set $peer "namespaceSelector" . }}{{ end }}
{{- with .podSelector }}{{ $_ := set $peer "podSelector" . }}{{ end }}
{{- if $peer }}
{{- toYaml (list $peer) }}
{{- else -}}
[]
{{- end }}
{{- end -}}

{{/*
A NetworkPolicy peer for pods of this release: (dict "ctx" $ "components"
(list "auth" "mediator")). Same namespace, since it has no namespaceSelector.
*/}}
{{- define "shop.componentsPeer" -}}
podSelector:
  matchLabels:
    {{- include "shop.releaseSelector" .ctx | nindent 4 }}
  matchExpressions:
    - key: app.kubernetes.io/component
      operator: In
      values: {{ .components | uniq | toJson }}
{{- end -}}

{{/*
Security contexts: never root, no privilege escalation, no capabilities,
the runtime's default seccomp profile, a read-only root filesystem.
Argument: the uid (10001 for the services, the image's user for the stores).
*/}}
{{- define "shop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
# Set the volume's group once, on the first mount. Re-applied on every mount
# it would make PostgreSQL's data folder group-writable, which PostgreSQL
# refuses to start with.
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shop.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* nodeSelector, tolerations, affinity of the service pods. */}}
{{- define "shop.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
