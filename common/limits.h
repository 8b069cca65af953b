/* Every cap on a buffer sized by untrusted input lives here. */
#ifndef COMMON_LIMITS_H
#define COMMON_LIMITS_H

/* Manifests and indexes: the distribution-spec lets registries refuse
 * manifests over 4 MiB; we refuse them everywhere. */
#define LIMIT_MANIFEST_SIZE (4 * 1024 * 1024)
/* Image configs can carry long history; 8 MiB is far above real images. */
#define LIMIT_CONFIG_SIZE (8 * 1024 * 1024)
/* Any other JSON document we read (index.json, auth files, token responses). */
#define LIMIT_JSON_SIZE (16 * 1024 * 1024)
/* HTTP: one header line, all headers, an error body kept for messages. */
#define LIMIT_HTTP_HEADER (16 * 1024)
#define LIMIT_HTTP_HEADERS (64 * 1024)
/* Header fields in one request ireg serves (past it: 400). */
#define LIMIT_HTTP_HEADER_FIELDS 256
#define LIMIT_HTTP_ERROR_BODY (64 * 1024)
/* References: Docker caps the whole name at 255; tags at 128. */
#define LIMIT_REF_NAME 255
#define LIMIT_REF_TAG 128
#define LIMIT_REF_TOTAL 1024
/* Dockerfile: a file, one logical line, heredoc bodies. */
#define LIMIT_DOCKERFILE_SIZE (16 * 1024 * 1024)
#define LIMIT_DOCKERFILE_LINE (1024 * 1024)
/* Paths inside images and archives. */
#define LIMIT_PATH 4096
#define LIMIT_PAX_HEADER (1024 * 1024)
/* A kernel text file read whole (/proc/self/mountinfo, cgroup files). */
#define LIMIT_PROC_FILE (4 * 1024 * 1024)
/* Layers per image and manifests per index. */
#define LIMIT_LAYERS 1024
#define LIMIT_INDEX_MANIFESTS 4096
/* Auth: a bearer token, an htpasswd file, PEM key/certificate files, the
 * /token query or form, scopes in one token request, a credential
 * helper's answer. */
#define LIMIT_AUTH_TOKEN (16 * 1024)
#define LIMIT_HTPASSWD (4 * 1024 * 1024)
#define LIMIT_PEM (1024 * 1024)
#define LIMIT_TOKEN_PARAMS (64 * 1024)
#define LIMIT_TOKEN_SCOPES 64
#define LIMIT_CRED_HELPER_OUTPUT (64 * 1024)
/* ssh agent protocol: one message relayed by the RUN --mount=type=ssh
 * forwarder (OpenSSH's agent refuses longer ones too), and connections
 * open at once through one step's forwarder. */
#define LIMIT_SSH_AGENT_MSG (256 * 1024)
#define LIMIT_SSH_AGENT_CONNS 64

#endif
