#!/usr/bin/env bats
# The ireg API cases of ireg-api-cases.bash on the S3 driver, against a real
# Ceph RADOS Gateway (one cluster for the file; each test on its own prefix of
# the bucket).

export IREG_DRIVER=s3
load ireg-helpers
load ceph-helpers
load ireg-api-cases

setup_file() {
	ceph_start 1
	export IREG_S3_BACKOFF_MS=20
}

teardown_file() {
	ceph_stop
}

@test "s3: base endpoint, health, metrics, unknown paths and methods" {
	api_base_health_metrics
}

@test "s3: monolithic blob upload, GET, HEAD, Range, DELETE" {
	api_monolithic_upload
}

@test "s3: chunked upload: PATCH with Content-Range, out of order 416, status, streamed PATCH, PUT with last chunk" {
	api_chunked_upload
}

@test "s3: OCI-Chunk-Min-Length: announced when set, a chunk after a short one refused with 416" {
	api_chunk_min_length
}

@test "s3: upload cancel, and digest mismatch at PUT" {
	api_upload_cancel_digest_mismatch
}

@test "s3: cross-repository mount: 201 when the source holds the blob, else 202" {
	api_mount_from
}

@test "s3: mount without from under auth: 201 only when the caller may pull a repository holding the blob" {
	api_mount_without_from_auth
}

@test "s3: manifests: PUT, GET/HEAD by tag and digest, errors, tag and manifest DELETE" {
	api_manifests
}

@test "s3: a tag moves between media types; an index needs its children" {
	api_tag_moves_media_types
}

@test "s3: tags list and catalog: sorted, n/last pagination with Link" {
	api_tags_catalog_pagination
}

@test "s3: referrers API: OCI-Subject, listing, artifactType filter, empty index" {
	api_referrers
}

@test "s3: concurrent pushes of one blob to one and several repositories" {
	api_concurrent_pushes
}
