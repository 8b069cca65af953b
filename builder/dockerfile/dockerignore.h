/* .dockerignore patterns and the build-context walk (Docker semantics:
 * moby/patternmatcher for matching, tonistiigi/fsutil for the walk).
 *
 * Patterns: Go filepath.Match syntax (* ? [a-z] [^x] and \ escapes) plus
 * "**" for any number of path components; "!" makes an exception; the last
 * matching line wins; a pattern that matches a directory excludes everything
 * under it unless a later exception re-includes something.  Lines starting
 * with '#' are comments, white space around a line is ignored, each pattern
 * is cleaned like Go's filepath.Clean and a leading "/" is dropped
 * (so "/a", "./a" and "a/" all mean "a").  Paths are slash-separated and
 * relative to the context root.
 */
#ifndef BUILDER_DOCKERFILE_DOCKERIGNORE_H
#define BUILDER_DOCKERFILE_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/err.h"

/* Cap on the .dockerignore file read from a context. */
#define BUILD_IGNORE_MAX_FILE (1024 * 1024)

struct build_ignore;

/* Parse the text of a .dockerignore (LEN bytes; a UTF-8 BOM is skipped).
 * SOURCE names it in messages ("ctx/.dockerignore:3: ...").  Errors are
 * ERR_PARSE: a lone "!", a malformed bracket expression, a trailing "\". */
int build_ignore_parse(const char *text, size_t len, const char *source, struct build_ignore **ret_ignore,
                       struct err **err);

/* The same from a list of pattern lines ("!x" for an exception). */
int build_ignore_new(const char *const *patterns, size_t n, struct build_ignore **ret_ignore, struct err **err);

/* Free; NULL is a no-op. */
void build_ignore_free(struct build_ignore *ig);

/* Always include the file at PATH (relative to the context; e.g. the
 * Dockerfile and the ignore file itself, which the build must read whatever
 * the patterns say).  The walk descends into its parent directories. */
void build_ignore_keep(struct build_ignore *ig, const char *path);

/* Number of patterns and whether any is an exception. */
size_t build_ignore_count(const struct build_ignore *ig);
bool build_ignore_has_exceptions(const struct build_ignore *ig);

/* Is PATH excluded (it or one of its parent directories matched, and no
 * later exception re-included it)?  PATH is cleaned first; "." and paths
 * kept with build_ignore_keep() are never excluded. */
bool build_ignore_excludes(const struct build_ignore *ig, const char *path);

/* Find the ignore file for a build: DOCKERFILE.dockerignore beside the
 * Dockerfile (DOCKERFILE is a path, NULL for CONTEXT/Dockerfile, "-" for
 * stdin: then only .dockerignore counts)
 * wins over CONTEXT/.dockerignore.  *ret_path is the file's path (owned by
 * the caller) or NULL when there is none; returns 0 either way. */
int build_ignore_find(const char *context, const char *dockerfile, char **ret_path, struct err **err);

/* Find, read and parse the ignore file for CONTEXT and DOCKERFILE (see
 * build_ignore_find).  With no ignore file *ret_ignore is an empty list.
 * The Dockerfile and the ignore file are kept when they lie inside CONTEXT. */
int build_ignore_load(const char *context, const char *dockerfile, struct build_ignore **ret_ignore,
                      struct err **err);

/* One file, directory, symlink... of the context that the build may use. */
struct build_context_entry {
        char *path;     /* relative, slash-separated, no leading "./" */
        struct stat st; /* lstat() information: symlinks are never followed */
};

struct build_context {
        struct build_context_entry *entries;
        size_t n;
        /* Directories read during the walk (the root included): shows that
         * excluded directories were skipped without being opened. */
        size_t n_dirs_read;
};

/* Walk directory CONTEXT and list every entry not excluded by IG (NULL: no
 * patterns), depth first, each directory's entries sorted by name (byte
 * order), a directory before its contents.  Excluded directories are not
 * opened unless an exception pattern could match inside them; a directory
 * that is excluded but holds re-included entries is listed before them.
 * Unreadable excluded directories are ignored; other errors name the path. */
int build_context_walk(const char *context, const struct build_ignore *ig, struct build_context **ret_ctx,
                       struct err **err);

/* Free; NULL is a no-op. */
void build_context_free(struct build_context *ctx);

/* Go's filepath.Clean on a slash-separated path (owned by the caller). */
char *build_path_clean(const char *path);

#endif
