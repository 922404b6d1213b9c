{{- /*
TLS between the services and their stores.

The in-chart PostgreSQL and Redis (postgresql.tls, redis.tls) serve TLS with
the certificate of a Secret holding tls.crt, tls.key and ca.crt: one the
chart generates and keeps (shop.secret.storeTls in _secrets.tpl) or the
user's (e.g. cert-manager's). An external server's CA certificate is
externalDatabase.caSecret / externalRedis.caSecret.

A service pod gets the CA certificates it needs, and nothing else of those
Secrets (never a key), as files of one read-only volume in shop.caDir:
postgresql-ca.crt (named by sslrootcert in DATABASE_URL) and, for order-api
and the mediator, redis-ca.crt (REDIS_CA_FILE).
*/ -}}

{{/* Where the service pods find the CA certificates. */}}
{{- define "shop.caDir" -}}
/etc/shop/tls
{{- end -}}

{{/* Where the stores find their certificate, key and CA. */}}
{{- define "shop.storeTlsDir" -}}
/etc/shop/tls
{{- end -}}

{{- define "shop.postgresTlsSecretName" -}}
{{- .Values.postgresql.tls.existingSecret | default (printf "%s-postgresql-tls" (include "shop.fullname" .)) -}}
{{- end -}}

{{- define "shop.redisTlsSecretName" -}}
{{- .Values.redis.tls.existingSecret | default (printf "%s-redis-tls" (include "shop.fullname" .)) -}}
{{- end -}}

{{/*
The CA files of one service pod: (dict "ctx" $ "service" $s), YAML
`files: [{name, secret, key, existing, template}]`. name is the file (and
checksum) name without .crt; existing is the name of a Secret the user
brings (checksummed by name), else template is the chart's own.
Read it with: (include "shop.caFiles" (dict "ctx" $ "service" $s) | fromYaml).files
*/}}
{{- define "shop.caFiles" -}}
{{- $v := .ctx.Values }}
{{- $files := list }}
{{- if eq (include "shop.postgresqlMode" .ctx) "cloudnativepg" }}
{{- /* The CA the operator makes, <cluster>-ca (ca.crt and its key:
only ca.crt is projected); checksummed by name, as a brought Secret. */}}
{{- $ca := printf "%s-ca" (include "shop.cnpgClusterName" .ctx) }}
{{- $files = append $files (dict "name" "postgresql-ca" "secret" $ca "key" "ca.crt" "existing" $ca) }}
{{- else if $v.postgresql.enabled }}
{{- if $v.postgresql.tls.enabled }}
{{- $files = append $files (dict "name" "postgresql-ca" "secret" (include "shop.postgresTlsSecretName" .ctx) "key" "ca.crt"
      "existing" $v.postgresql.tls.existingSecret "template" "shop.secret.postgresqlTls") }}
{{- end }}
{{- else if $v.externalDatabase.caSecret.name }}
{{- $files = append $files (dict "name" "postgresql-ca" "secret" $v.externalDatabase.caSecret.name
      "key" ($v.externalDatabase.caSecret.key | default "ca.crt") "existing" $v.externalDatabase.caSecret.name) }}
{{- end }}
{{- if .service.redis }}
{{- if $v.redis.enabled }}
{{- if $v.redis.tls.enabled }}
{{- $files = append $files (dict "name" "redis-ca" "secret" (include "shop.redisTlsSecretName" .ctx) "key" "ca.crt"
      "existing" $v.redis.tls.existingSecret "template" "shop.secret.redisTls") }}
{{- end }}
{{- else if $v.externalRedis.caSecret.name }}
{{- $files = append $files (dict "name" "redis-ca" "secret" $v.externalRedis.caSecret.name
      "key" ($v.externalRedis.caSecret.key | default "ca.crt") "existing" $v.externalRedis.caSecret.name) }}
{{- end }}
{{- end }}
files: {{ $files | toJson }}
{{- end -}}

{{/*
The query of an in-chart or host-built DATABASE_URL: (dict "ctx" $), a
string starting with "?" or empty. In-chart with TLS: verify-full against
the chart's CA; a CloudNativePG Cluster always serves TLS, verify-full
against its operator's CA. External: externalDatabase.sslmode, by default
verify-full with a caSecret and require without one (encrypted, the server
unverified), after target_session_attrs=read-write with several hosts.
*/}}
{{- define "shop.databaseUrlQuery" -}}
{{- $v := .ctx.Values -}}
{{- $rootcert := printf "%s/postgresql-ca.crt" (include "shop.caDir" .ctx) -}}
{{- if eq (include "shop.postgresqlMode" .ctx) "cloudnativepg" -}}
{{- printf "?sslmode=verify-full&sslrootcert=%s" $rootcert -}}
{{- else if $v.postgresql.enabled -}}
{{- if $v.postgresql.tls.enabled -}}
{{- printf "?sslmode=verify-full&sslrootcert=%s" $rootcert -}}
{{- end -}}
{{- else -}}
{{- $db := $v.externalDatabase -}}
{{- $mode := $db.sslmode | default (ternary "verify-full" "require" (not (empty $db.caSecret.name))) -}}
{{- if and (has $mode (list "verify-ca" "verify-full")) (not $db.caSecret.name) -}}
{{- fail (printf "externalDatabase.sslmode %s verifies the server against a CA: set externalDatabase.caSecret.name (a Secret with the CA certificate)" $mode) -}}
{{- end -}}
{{- if $db.hosts -}}
{{- printf "?target_session_attrs=read-write&sslmode=%s" $mode -}}
{{- else -}}
{{- printf "?sslmode=%s" $mode -}}
{{- end -}}
{{- if $db.caSecret.name -}}
{{- printf "&sslrootcert=%s" $rootcert -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The checksums of the CA Secrets a service pod reads (for shop.checksums),
one line each: checksum/postgresql-ca, checksum/redis-ca.
*/}}
{{- define "shop.caChecksums" -}}
{{- $ctx := .ctx -}}
{{- range (include "shop.caFiles" . | fromYaml).files }}
checksum/{{ .name }}: {{ include "shop.secretChecksum" (list .existing .template $ctx) }}
{{- end }}
{{- end -}}

{{/* The CA volume's mount of a service container: (dict "ctx" $ "service" $s). */}}
{{- define "shop.caVolumeMount" -}}
{{- if (include "shop.caFiles" . | fromYaml).files -}}
- name: ca
  mountPath: {{ include "shop.caDir" .ctx }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
The CA volume of a service pod: (dict "ctx" $ "service" $s). Only the CA
certificate of each Secret is projected (items), so a store's key never
reaches a service pod even when it shares the Secret with the CA.
*/}}
{{- define "shop.caVolume" -}}
{{- with (include "shop.caFiles" . | fromYaml).files -}}
# The CA certificates of PostgreSQL and Redis, no key.
- name: ca
  projected:
    defaultMode: 288 # 0440: the fsGroup (10001) reads, nobody else
    sources:
      {{- range . }}
      - secret:
          name: {{ .secret }}
          items:
            - key: {{ .key }}
              path: {{ .name }}.crt
      {{- end }}
{{- end }}
{{- end -}}

{{/*
A store's TLS Secret volume: (dict "secret" NAME). 0440 and, through the
pod's fsGroup, group-owned by the store's user: PostgreSQL refuses a key
file owned by root unless it is 0640 or less, readable by its group only.
*/}}
{{- define "shop.storeTlsVolume" -}}
- name: tls
  secret:
    secretName: {{ .secret }}
    defaultMode: 288 # 0440: root-owned, the fsGroup (the store's user) reads
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
      - {key: ca.crt, path: ca.crt}
{{- end -}}

{{/*
The in-chart PostgreSQL's pg_hba.conf. The first matching line decides; no
match is a refusal. With TLS a network connection must be hostssl.
*/}}
{{- define "shop.postgresqlHba" -}}
{{- $network := ternary "hostssl" "host" .Values.postgresql.tls.enabled -}}
# TYPE     DATABASE  USER  ADDRESS  METHOD
# The socket, inside this container only (no other container mounts
# /var/run/postgresql): the image's init script and `kubectl exec ... psql`.
# Whoever reaches it already runs as the postgres user, who owns the data
# files.
local      all       all            trust
{{- if .Values.postgresql.tls.enabled }}
# Over the network without TLS: refused.
hostnossl  all       all   all      reject
{{- end }}
# Over the network never as the superuser (it runs the init script only),
# and each role into its own database only (a role is named after its
# database), with its password.
host       all       {{ .Values.postgresql.username }}  all      reject
{{ printf "%-10s" $network }} sameuser  all   all      scram-sha-256
{{- end -}}
