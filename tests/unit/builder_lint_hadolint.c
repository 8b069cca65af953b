/* hadolint-derived checks: for each a Dockerfile that triggers it (at the
 * right line) and one that does not. */
#include "tests/unit/lint-test.h"

static void
pin_apt(void **state)
{
        expect("FROM a:1\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10 git\n" OK_TAIL,
               "AptGetInstallUnpinned", 2);
        expect("FROM a:1\nRUN <<EOF\napt-get update\napt-get install -y python3\nEOF\n" OK_TAIL,
               "AptGetInstallUnpinned", 2);
        expect_none("FROM a:1\nRUN apt-get install -y -t bookworm-backports curl=7.88 ./local.deb "
                    "git/bookworm $PKGS >/dev/null 2>&1 && apt-get update\n" OK_TAIL,
                    "AptGetInstallUnpinned");
}

static void
pin_apk(void **state)
{
        expect("FROM a:1\nRUN apk add --no-cache curl\n" OK_TAIL, "ApkAddUnpinned", 2);
        expect_none("FROM a:1\nRUN apk add --no-cache --virtual .deps curl=8.5.0-r0 git~2.43 ./x.apk\n" OK_TAIL,
                    "ApkAddUnpinned");
}

static void
pin_pip(void **state)
{
        expect("FROM a:1\nRUN pip install --no-cache-dir requests\n" OK_TAIL, "PipInstallUnpinned", 2);
        expect("FROM a:1\nRUN python3 -m pip install --no-cache-dir flask==3.0 requests\n" OK_TAIL,
               "PipInstallUnpinned", 2);
        expect_none("FROM a:1\nRUN pip3 install --no-cache-dir -r requirements.txt\nRUN pip install --no-cache-dir "
                    ".\nRUN pip install --no-cache-dir 'flask>=3' django==5.0 ./pkg/ x.whl "
                    "git+https://github.com/a/b@v1 -i https://idx/simple\n" OK_TAIL,
                    "PipInstallUnpinned");
}

static void
pin_npm(void **state)
{
        expect("FROM a:1\nRUN npm install express\n" OK_TAIL, "NpmInstallUnpinned", 2);
        expect("FROM a:1\nRUN npm install @scope/pkg\n" OK_TAIL, "NpmInstallUnpinned", 2);
        expect_none("FROM a:1\nRUN npm install\nRUN npm install -g express@4.18 @scope/pkg@1.2 ./lib x.tgz "
                    "git+https://h/u/r#v1\nRUN npm ci\n" OK_TAIL,
                    "NpmInstallUnpinned");
}

static void
install_yes(void **state)
{
        expect("FROM a:1\nRUN apt-get install --no-install-recommends curl=1\n" OK_TAIL, "InstallWithoutYes", 2);
        expect("FROM a:1\nRUN yum install httpd-2.4 && yum clean all\n" OK_TAIL, "InstallWithoutYes", 2);
        expect("FROM a:1\nRUN dnf install httpd-2.4 && dnf clean all\n" OK_TAIL, "InstallWithoutYes", 2);
        expect_none("FROM a:1\nRUN apt-get install -y x=1\nRUN apt-get -qq install x=1\nRUN apt-get install -yq x=1\n"
                    "RUN apt-get install --assume-yes x=1\nRUN yum install -y x && yum clean all\n"
                    "RUN dnf --assumeyes install x && dnf clean all\nRUN microdnf install x && microdnf clean all\n"
                    "RUN apt-get update\n" OK_TAIL,
                    "InstallWithoutYes");
}

static void
apk_no_cache(void **state)
{
        expect("FROM a:1\nRUN apk add curl=8\n" OK_TAIL, "ApkAddWithoutNoCache", 2);
        expect_none("FROM a:1\nRUN apk add --no-cache curl=8\nRUN --mount=type=cache,target=/var/cache/apk apk add "
                    "git=2\n" OK_TAIL,
                    "ApkAddWithoutNoCache");
        /* Only the final image's stages matter. */
        expect_none("FROM a:1 AS build\nRUN apk add curl=8\nFROM b:1\n" OK_TAIL, "ApkAddWithoutNoCache");
}

static void
pip_no_cache(void **state)
{
        expect("FROM a:1\nRUN pip install flask==3\n" OK_TAIL, "PipInstallWithoutNoCacheDir", 2);
        expect_none("FROM a:1\nRUN pip install --no-cache-dir flask==3\nRUN --mount=type=cache,target=/root/.cache "
                    "pip install flask==3\n" OK_TAIL,
                    "PipInstallWithoutNoCacheDir");
        expect_none("FROM a:1\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask==3\n" OK_TAIL,
                    "PipInstallWithoutNoCacheDir");
}

static void
yum_clean(void **state)
{
        expect("FROM a:1\nRUN yum install -y httpd\n" OK_TAIL, "YumDnfCacheNotCleaned", 2);
        expect("FROM a:1\nRUN dnf install -y httpd && yum clean all\n" OK_TAIL, "YumDnfCacheNotCleaned", 2);
        expect_none("FROM a:1\nRUN yum install -y httpd && yum clean all\nRUN dnf -y install x && rm -rf "
                    "/var/cache/dnf\nRUN --mount=type=cache,target=/var/cache/dnf dnf install -y x\n" OK_TAIL,
                    "YumDnfCacheNotCleaned");
}

static void
cd_in_run(void **state)
{
        expect("FROM a:1\nRUN cd /src && make\n" OK_TAIL, "CdInsteadOfWorkdir", 2);
        expect_none("FROM a:1\nWORKDIR /src\nRUN make && echo cd\nRUN mkdir cd\n" OK_TAIL, "CdInsteadOfWorkdir");
}

static void
sudo_in_run(void **state)
{
        expect("FROM a:1\nRUN sudo apt-get update\n" OK_TAIL, "SudoInRun", 2);
        expect("FROM a:1\nRUN make; sudo -E make install\n" OK_TAIL, "SudoInRun", 2);
        expect_none("FROM a:1\nRUN apt-get install -y sudo=1\nRUN echo sudo\n" OK_TAIL, "SudoInRun");
}

static void
copy_relative(void **state)
{
        expect("FROM a:1\nCOPY app.py app/\n" OK_TAIL, "CopyRelativeDestination", 2);
        expect("FROM a:1\nCOPY [\"a\", \".\"]\n" OK_TAIL, "CopyRelativeDestination", 2);
        expect_none("FROM a:1 AS b\nCOPY a /app/\nCOPY b $DIR\nWORKDIR /app\nCOPY c .\nFROM b\nCOPY d .\n" OK_TAIL,
                    "CopyRelativeDestination");
}

static void
consecutive_run(void **state)
{
        expect("FROM a:1\nRUN mkdir /x\nRUN touch /x/y\n" OK_TAIL, "ConsecutiveRunInstructions", 3);
        /* More than two commands in either: split on purpose. */
        expect_none("FROM a:1\nRUN a && b && c\nRUN d\n" OK_TAIL, "ConsecutiveRunInstructions");
        /* Different flags, or something in between. */
        expect_none("FROM a:1\nRUN a\nRUN --mount=type=cache,target=/c b\nENV X=1\nRUN c\nFROM a:1\nRUN d\n" OK_TAIL,
                    "ConsecutiveRunInstructions");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(pin_apt),      cmocka_unit_test(pin_apk),       cmocka_unit_test(pin_pip),
            cmocka_unit_test(pin_npm),      cmocka_unit_test(install_yes),   cmocka_unit_test(apk_no_cache),
            cmocka_unit_test(pip_no_cache), cmocka_unit_test(yum_clean),     cmocka_unit_test(cd_in_run),
            cmocka_unit_test(sudo_in_run),  cmocka_unit_test(copy_relative), cmocka_unit_test(consecutive_run),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
