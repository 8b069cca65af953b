# syntax=docker/dockerfile:1
# check=experimental=all;skip=SudoInRun
ARG TAG
ARG PLAT=$BUILDPLATFORM
# base the build stage
from --platform=linux golang:${TAG:-1.22} as Build
WORKDIR src
RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl=1 && cd /x
RUN [ "$TARGETARCH" = "amd64" ] && pip install flask 2>&1 > /dev/null
ADD <<EOT /etc/motd
hi
EOT
FROM scratch AS out
COPY --from=Build /x .
EXPOSE 80:80/TCP
ENV A 1
CMD ["a"]
CMD ["b"]
