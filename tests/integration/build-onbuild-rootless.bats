#!/usr/bin/env bats
# ONBUILD as an unprivileged user with a subordinate id range.  The cases
# are in build-onbuild-cases.bash.

BUILD_MODE=rootless
load build-helpers
load build-onbuild-cases

@test "onbuild rootless: an image's triggers expand with the image's ENV and PATH" {
	case_image_triggers_see_image_env
}

@test "onbuild rootless: a parent stage's triggers run in the child but are not in its OnBuild" {
	case_stage_triggers_not_inherited
}
