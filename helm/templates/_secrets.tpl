{{- /*
The Secrets the chart generates, one named template each, so that
secrets.yaml renders them and every Deployment carries a checksum of exactly
what it reads (shop.checksums).

Generated values are made on the first install and kept on every upgrade:
`lookup` finds the live Secret and its data wins over the freshly generated
values (a key missing from it, added by a later chart version, is filled
in). `helm.sh/resource-policy: keep` leaves them behind on uninstall, so a
reinstall under the same name finds the same keys and the passwords the
PostgreSQL volume (also kept) was initialised with. Without a cluster (helm
template, a client-side dry run) `lookup` is empty and new values are
generated each time.
*/ -}}

{{/*
The data (base64) of a live Secret of the release's namespace: (dict "ctx"
$ "name" NAME), YAML; {} when there is none or no cluster to ask. Every
read of a live Secret goes through here.
*/}}
{{- define "shop.liveSecretData" -}}
{{- toYaml ((lookup "v1" "Secret" .ctx.Release.Namespace .name).data | default dict) }}
{{- end -}}

{{/* The data of a Secret to keep: (dict "ctx" $ "name" NAME "fresh" DATA), YAML. */}}
{{- define "shop.keptSecretData" -}}
{{- $live := include "shop.liveSecretData" . | fromYaml }}
{{- toYaml (merge $live .fresh) }}
{{- end -}}

{{/* One Secret: (dict "ctx" $ "name" NAME "data" BASE64-DATA "keep" BOOL ["type" TYPE]). */}}
{{- define "shop.secretManifest" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  labels:
    {{- include "shop.labels" .ctx | nindent 4 }}
  {{- if .keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
type: {{ .type | default "Opaque" }}
data:
  {{- range $k := keys .data | sortAlpha }}
  {{ $k }}: {{ index $.data $k | quote }}
  {{- end }}
{{- end -}}

{{/*
The service credentials, one per caller (auth-token, mediator-token), and
the JWT key pair (jwt-public.pem is a self-signed
certificate of the key: Helm has no function that prints a bare public key).
Read by the callers (auth, the mediator) alone; auth also signs with the key.
*/}}
{{- define "shop.secretData.main" -}}
{{- $key := genPrivateKey "ed25519" }}
{{- $fresh := dict
      "auth-token" (randAlphaNum 48 | b64enc)
      "mediator-token" (randAlphaNum 48 | b64enc)
      "jwt-private.pem" ($key | b64enc)
      "jwt-public.pem" ((genSelfSignedCertWithKey "shop-jwt" nil nil 36500 $key).Cert | b64enc) }}
{{- include "shop.keptSecretData" (dict "ctx" . "name" (include "shop.secretName" .) "fresh" $fresh) }}
{{- end -}}

{{- define "shop.secret.main" -}}
{{- $data := include "shop.secretData.main" . | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" (include "shop.secretName" .) "data" $data "keep" true) }}
{{- end -}}

{{/*
The service credentials and what the callees and the JWT verifiers get
instead, computed in one place so that they always match: YAML with
  main       the credentials Secret's data, when the chart generates it
             (generated once, then kept like the others)
  digests    the callees' Secret's data, unless secrets.existingDigestSecret
             is brought: <caller>-token-sha256, the lowercase hex SHA-256 of
             the credential's bytes (base64 here, as Secret data). A callee
             compares the digest of what a caller presents, so its pods
             never hold a credential that could call anything
  jwtPublic  jwt-public.pem (PEM, base64 here so that YAML keeps its last
             newline), for the verifiers' ConfigMap: a public
             key needs no Secret, and it keeps billing and order-api from
             naming the Secret that holds the credentials
With secrets.existingSecret they come from that Secret, which the chart
reads on install and upgrade (helm's lookup), unless brought themselves
(secrets.existingDigestSecret, secrets.jwtPublicKey). Where it cannot be
read (helm template, a client-side dry run, a Secret not made yet) and they
are not brought, rendering fails and says what to bring.
*/}}
{{- define "shop.credentials" -}}
{{- $s := .Values.secrets }}
{{- $out := dict }}
{{- $source := dict }}
{{- if $s.existingSecret }}
{{- $source = include "shop.liveSecretData" (dict "ctx" . "name" $s.existingSecret) | fromYaml }}
{{- else }}
{{- if or $s.existingDigestSecret $s.jwtPublicKey }}
{{- fail "secrets.existingDigestSecret and secrets.jwtPublicKey go with secrets.existingSecret: the chart derives them from the credentials and the key it generates" }}
{{- end }}
{{- $source = include "shop.secretData.main" . | fromYaml }}
{{- $_ := set $out "main" $source }}
{{- end }}
{{- $missing := list }}
{{- if not $s.existingDigestSecret }}
{{- $digests := dict }}
{{- range $service := (include "shop.services" . | fromYaml).services }}
{{- range $caller := $service.tokens }}
{{- $token := index $source (printf "%s-token" $caller) }}
{{- if $token }}
{{- $_ := set $digests (printf "%s-token-sha256" $caller) ($token | b64dec | sha256sum | b64enc) }}
{{- else }}
{{- $missing = append $missing (printf "%s-token" $caller) }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := set $out "digests" $digests }}
{{- end }}
{{- if $s.jwtPublicKey }}
{{- $_ := set $out "jwtPublic" ($s.jwtPublicKey | b64enc) }}
{{- else if index $source "jwt-public.pem" }}
{{- $_ := set $out "jwtPublic" (index $source "jwt-public.pem") }}
{{- else }}
{{- $missing = append $missing "jwt-public.pem" }}
{{- end }}
{{- if $missing }}
{{- fail (printf "secrets.existingSecret: the chart cannot read %s from the Secret %s (no cluster to ask: helm template, a dry run; or the Secret is not there yet). Create the Secret first, or bring what it derives from it: secrets.existingDigestSecret, a Secret with auth-token-sha256 and mediator-token-sha256, each the hex SHA-256 of that credential (printf %%s \"$TOKEN\" | sha256sum | cut -d' ' -f1), and secrets.jwtPublicKey, the PEM of jwt-public.pem (--set-file secrets.jwtPublicKey=jwt-public.pem)" (join ", " $missing) $s.existingSecret) }}
{{- end }}
{{- toYaml $out }}
{{- end -}}

{{/* The verifiers' ConfigMap: (dict "ctx" $ "pem" PEM), jwt-public.pem alone. */}}
{{- define "shop.jwtPublicConfigMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "shop.jwtPublicName" .ctx }}
  labels:
    {{- include "shop.labels" .ctx | nindent 4 }}
data:
  jwt-public.pem: {{ .pem | quote }}
{{- end -}}

{{/*
The in-chart PostgreSQL's passwords: the superuser's (postgres-password,
for its init script only) and one per database role (<database>-password).
Alphanumeric: they go into the services' DATABASE_URL unescaped.
*/}}
{{- define "shop.secret.postgresql" -}}
{{- $name := include "shop.postgresSecretName" . }}
{{- $fresh := dict "postgres-password" (randAlphaNum 32 | b64enc) }}
{{- range (include "shop.databases" . | fromYaml).databases }}
{{- $_ := set $fresh (printf "%s-password" .) (randAlphaNum 32 | b64enc) }}
{{- end }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/*
mode cloudnativepg: the password of one managed role, (dict "ctx" $ "db"
"auth"), in a basic-auth Secret (username, password) as CloudNativePG's
managed.roles[].passwordSecret wants it; cnpg.io/reload makes the operator
apply a changed password. 32 letters and digits (they go into
DATABASE_URL unescaped), kept on upgrade and uninstall like the others.
*/}}
{{- define "shop.secret.cnpgRole" -}}
{{- $name := include "shop.cnpgRoleSecretName" . }}
{{- $fresh := dict "username" (.db | b64enc) "password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" .ctx "name" $name "fresh" $fresh) | fromYaml }}
{{- $_ := set $data "username" (.db | b64enc) }}
{{- $manifest := include "shop.secretManifest" (dict "ctx" .ctx "name" $name "data" $data "keep" true "type" "kubernetes.io/basic-auth") | fromYaml }}
{{- $_ := set $manifest.metadata.labels "cnpg.io/reload" "true" }}
{{- toYaml $manifest }}
{{- end -}}

{{/*
The in-chart Redis's password, and the URL its clients use. The URL is
derived from the kept password on every render, so the two never disagree:
rediss:// (TLS, the host name verified) when redis.tls.enabled.
*/}}
{{- define "shop.secret.redis" -}}
{{- $name := include "shop.redisSecretName" . }}
{{- $fresh := dict "redis-password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- $scheme := ternary "rediss" "redis" .Values.redis.tls.enabled }}
{{- $url := printf "%s://:%s@%s-redis:6379" $scheme (index $data "redis-password" | b64dec) (include "shop.fullname" .) }}
{{- $_ := set $data "redis-url" ($url | b64enc) }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/*
The administrator's password (admin-password), which auth reads at start
from ADMIN_PASSWORD_FILE: 32 letters and digits (auth takes 8 to 72 bytes).
Kept like the others, so an upgrade never changes the password under the
operator's feet; a changed key sets the new password when auth restarts.
*/}}
{{- define "shop.secret.admin" -}}
{{- $name := include "shop.adminSecretName" . }}
{{- $fresh := dict "admin-password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/* externalRedis.url, kept out of the pod spec like any URL that may hold a password. */}}
{{- define "shop.secret.externalRedis" -}}
{{- $url := required "redis.enabled is false: set externalRedis.url or externalRedis.existingSecret" .Values.externalRedis.url }}
{{- include "shop.secretManifest" (dict "ctx" . "name" (include "shop.redisSecretName" .) "data" (dict "redis-url" ($url | b64enc)) "keep" false) }}
{{- end -}}


{{/*
The certificate of an in-chart store: (dict "ctx" $ "component" "postgresql"
"name" SECRET). A CA of its own (ECDSA P-256, 10 years) signs a server
certificate for the names of the store's Service: <fullname>-<component>,
and with .<namespace>, .<namespace>.svc, .<namespace>.svc.cluster.local.
Data: tls.crt, tls.key, ca.crt (the shape of cert-manager's Secrets). The
CA's key is dropped: nothing ever signs with it again, so a leak of this
Secret cannot mint certificates for other names.

Kept on upgrade: a live Secret holding all three keys wins whole (halves of
two generations would not match); otherwise a new CA and certificate. To
renew, delete the Secret and upgrade: the stores and the services roll
(their checksums change) onto the new pair. Unlike the passwords it is not
left behind on uninstall: nothing on a kept volume depends on it.
*/}}
{{- define "shop.storeTlsData" -}}
{{- $live := include "shop.liveSecretData" . | fromYaml }}
{{- if and (index $live "tls.crt") (index $live "tls.key") (index $live "ca.crt") }}
{{- toYaml (pick $live "tls.crt" "tls.key" "ca.crt") }}
{{- else }}
{{- $service := printf "%s-%s" (include "shop.fullname" .ctx) .component }}
{{- $ns := .ctx.Release.Namespace }}
{{- $names := list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns)
      (printf "%s.%s.svc.cluster.local" $service $ns) }}
{{- $ca := genCAWithKey (printf "%s-ca" $service) 3650 (genPrivateKey "ecdsa") }}
{{- $cert := genSignedCertWithKey $service nil $names 3650 $ca (genPrivateKey "ecdsa") }}
{{- toYaml (dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc)) }}
{{- end }}
{{- end -}}

{{/* The in-chart PostgreSQL's certificate (postgresql.tls). */}}
{{- define "shop.secret.postgresqlTls" -}}
{{- $name := include "shop.postgresTlsSecretName" . }}
{{- $data := include "shop.storeTlsData" (dict "ctx" . "component" "postgresql" "name" $name) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" false "type" "kubernetes.io/tls") }}
{{- end -}}

{{/* The in-chart Redis's certificate (redis.tls). */}}
{{- define "shop.secret.redisTls" -}}
{{- $name := include "shop.redisTlsSecretName" . }}
{{- $data := include "shop.storeTlsData" (dict "ctx" . "component" "redis" "name" $name) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" false "type" "kubernetes.io/tls") }}
{{- end -}}
