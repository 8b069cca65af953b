# Shared by the registry benchmarks (ireg-vs-distribution.sh, ireg-s3.sh):
# timing one blob's monolithic upload, chunked upload and download over
# the distribution API, pushing a small manifest to GET, medians and RSS.
# Callers set: work (a scratch dir holding "big", the blob), digest (its
# digest), size_mb (its size), URL (an associative array SERVER -> base URL).

now() { date +%s.%N; }
rate() { echo "$size_mb / ($2 - $1)" | bc -l; } # T0 T1 -> MB/s
location() { grep -i '^location:' "$1" | tail -1 | cut -d' ' -f2- | tr -d '\r'; }
abs() { case $2 in http*) echo "$2" ;; *) echo "${URL[$1]}$2" ;; esac; } # SERVER LOCATION
sep() { case $1 in *\?*) echo '&' ;; *) echo '?' ;; esac; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss() { awk '/VmHWM/ {print $2 / 1024}' "/proc/$1/status"; } # PID -> peak MiB

registry_mono_upload() { # SERVER REPO -> MB/s (POST, then one PUT of the whole blob)
	local s=$1 loc t0 t1
	curl -sf -X POST -D "$work/h" -o /dev/null "${URL[$s]}/v2/$2/blobs/uploads/"
	loc=$(abs "$s" "$(location "$work/h")")
	t0=$(now)
	curl -sf -X PUT -H 'Expect:' -H 'Content-Type: application/octet-stream' -T "$work/big" -o /dev/null \
		"$loc$(sep "$loc")digest=$digest"
	t1=$(now)
	rate "$t0" "$t1"
}

# One client process on one keep-alive connection, so the figure is the
# server's (a dd + curl per chunk was what limited both servers before).
chunked_upload() { # SERVER REPO -> MB/s (16 MiB PATCHes)
	python3 bench/chunked-upload.py "${URL[$1]}" "$2" "$work/big" "$digest"
}

registry_download() { # SERVER REPO -> MB/s
	local t0 t1
	t0=$(now)
	curl -sf -o /dev/null "${URL[$1]}/v2/$2/blobs/$digest"
	t1=$(now)
	rate "$t0" "$t1"
}

push_manifest() { # SERVER: bench/man:latest, an image with no layers
	local s=$1 cd loc
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$work/cfg"
	cd=sha256:$(sha256sum "$work/cfg" | cut -d' ' -f1)
	curl -sf -X POST -D "$work/h" -o /dev/null "${URL[$s]}/v2/bench/man/blobs/uploads/"
	loc=$(abs "$s" "$(location "$work/h")")
	curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$work/cfg" -o /dev/null \
		"$loc$(sep "$loc")digest=$cd"
	jq -cn --arg c "$cd" --argjson n "$(stat -c %s "$work/cfg")" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.manifest.v1+json",
		config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$n},layers:[]}' |
		tr -d '\n' >"$work/manifest"
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$work/manifest" -o /dev/null "${URL[$s]}/v2/bench/man/manifests/latest"
}
