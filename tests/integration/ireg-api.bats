#!/usr/bin/env bats
# Every endpoint and error path of ireg with curl: status, error code in the
# JSON body, headers.

# The cases are in ireg-api-cases.bash (ireg-api-s3.bats runs them on S3).

load ireg-helpers
load ireg-api-cases

@test "base endpoint, health, metrics, unknown paths and methods" {
	api_base_health_metrics
}

@test "monolithic blob upload, GET, HEAD, Range, DELETE" {
	api_monolithic_upload
}

@test "chunked upload: PATCH with Content-Range, out of order 416, status, streamed PATCH, PUT with last chunk" {
	api_chunked_upload
}

@test "OCI-Chunk-Min-Length: announced when set, a chunk after a short one refused with 416" {
	api_chunk_min_length
}

@test "upload cancel, and digest mismatch at PUT" {
	api_upload_cancel_digest_mismatch
}

@test "cross-repository mount: 201 when the source holds the blob, else 202" {
	api_mount_from
}

@test "mount without from under auth: 201 only when the caller may pull a repository holding the blob" {
	api_mount_without_from_auth
}

@test "manifests: PUT, GET/HEAD by tag and digest, errors, tag and manifest DELETE" {
	api_manifests
}

@test "a tag moves between media types; an index needs its children" {
	api_tag_moves_media_types
}

@test "tags list and catalog: sorted, n/last pagination with Link" {
	api_tags_catalog_pagination
}

@test "referrers API: OCI-Subject, listing, artifactType filter, empty index" {
	api_referrers
}

@test "concurrent pushes of one blob to one and several repositories" {
	api_concurrent_pushes
}
