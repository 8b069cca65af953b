#!/usr/bin/env bats
# ONBUILD as root: an image's triggers see its ENV, triggers are not
# inherited by grandchildren.  The cases are in build-onbuild-cases.bash.

BUILD_MODE=root
load build-helpers
load build-onbuild-cases

@test "onbuild: an image's triggers expand with the image's ENV and PATH" {
	case_image_triggers_see_image_env
}

@test "onbuild: a parent stage's triggers run in the child but are not in its OnBuild" {
	case_stage_triggers_not_inherited
}
