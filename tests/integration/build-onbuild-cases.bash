# ONBUILD cases shared by build-onbuild.bats (root) and
# build-onbuild-rootless.bats: what the triggers of a base see, and that
# they are not inherited (BuildKit reference.md, ONBUILD: "Triggers are
# cleared from the final image after being executed").

# An image's triggers expand with that image's ENV (BuildKit runs them as
# the stage's first commands, after the image's environment is loaded).
case_image_triggers_see_image_env() {
	dockerfile <<'DF'
FROM testbase:1
ENV BASEVAR=fromimage PATH=/custom/bin:/bin
ONBUILD LABEL t=$BASEVAR p=${PATH}
ONBUILD RUN echo "$BASEVAR" >/trig
DF
	run ib -q -t onb-env:1 "$T/ctx"
	assert_success
	dockerfile <<'DF'
FROM onb-env:1
LABEL own=1
DF
	run ib -t onb-env-child:1 "$T/ctx"
	assert_success
	assert_output --partial "(onbuild) LABEL t=fromimage p=/custom/bin:/bin"
	refute_output --partial "undefined variable"
	cfg=$(config_of onb-env-child:1)
	[ "$(jq -r '.config.Labels.t' <<<"$cfg")" = fromimage ]
	[ "$(jq -r '.config.Labels.p' <<<"$cfg")" = /custom/bin:/bin ]
	[ "$(jq -r '.config.OnBuild' <<<"$cfg")" = null ]
	unpack onb-env-child:1
	[ "$(cat "$T/bundle/rootfs/trig")" = fromimage ]
}

# A parent stage's triggers run in the child stage but stay out of its
# config: the child's OnBuild is its own ONBUILD lines, and a grandchild
# built on it does not run the parent's triggers again.
case_stage_triggers_not_inherited() {
	dockerfile <<'DF'
FROM testbase:1 AS parent
ONBUILD RUN echo parent >>/p
FROM parent AS child
ONBUILD LABEL own=1
DF
	run ib -t onb-stage:1 "$T/ctx"
	assert_success
	assert_output --partial "(onbuild) RUN echo parent"
	cfg=$(config_of onb-stage:1)
	[ "$(jq -c '.config.OnBuild' <<<"$cfg")" = '["LABEL own=1"]' ]
	dockerfile <<'DF'
FROM onb-stage:1
DF
	run ib -t onb-grand:1 "$T/ctx"
	assert_success
	assert_output --partial "(onbuild) LABEL own=1"
	refute_output --partial "(onbuild) RUN echo parent"
	cfg=$(config_of onb-grand:1)
	[ "$(jq -r '.config.Labels.own' <<<"$cfg")" = 1 ]
	[ "$(jq -r '.config.OnBuild' <<<"$cfg")" = null ]
	unpack onb-grand:1
	[ "$(cat "$T/bundle/rootfs/p")" = parent ]
}
