/* Shared between COPY/ADD's files (exec-copy.c, exec-add.c,
 * exec-copy-dest.c); not an API. */
#ifndef BUILDER_EXEC_EXEC_COPY_INTERNAL_H
#define BUILDER_EXEC_EXEC_COPY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/exec/exec-internal.h"

/* Where an entry came from, which decides its owner (Docker's rules). */
enum sel_kind {
        SEL_CONTEXT,  /* context, heredoc or URL: 0:0 unless --chown */
        SEL_STAGE,    /* a stage or image: its in-image owner unless --chown */
        SEL_ARCHIVE,  /* extracted from a local archive: owner already set */
        SEL_REPLACED, /* an archive file its content replaced: dropped */
        SEL_BASE_DIR, /* an existing parent dir of the destination: as the base has it */
};

struct sel {
        struct oci_layer_entry *e;
        unsigned char *kind; /* enum sel_kind per entry, until sel_finish */
        size_t n, cap;
        char **strs; /* owned strings the entries point to */
        size_t n_strs, cap_strs;
        enum sel_kind cur; /* kind given to entries xsel_add() makes */
};

/* One COPY/ADD as the selection needs it. */
struct copy_job {
        struct xctx *x;
        struct xstage *s;
        const struct build_plan_instr *in;
        struct xstage *from; /* --from stage or image; NULL: the context */
        bool link;           /* --link: nothing of S is read */
        bool in_ns;          /* running inside the build user namespace */
};

/* An existing directory of the destination stage on the way to the
 * destination, as the base has it. */
struct base_dir {
        char *path;
        int32_t mode; /* permission bits */
        int64_t uid, gid;
};

/* Where a non---link COPY writes: the destination resolved in the stage,
 * whether it is a directory, and the existing dirs on the way. */
struct dest_plan {
        char *dest;
        bool dest_dir;
        struct base_dir *dirs;
        size_t n;
};

/* The selection (exec-copy.c).  xsel_add appends an entry of kind S->cur
 * for image path PATH from SRC below DIRFD (NULL: a dir made in the layer);
 * S owns both strings.  xjoin is DIR/NAME (caller frees). */
struct oci_layer_entry *xsel_add(struct sel *s, char *path, char *src, int dirfd);
char *xjoin(const char *dir, const char *name);

/* ADD's sources (exec-add.c).  xfetch_url downloads URL once per build
 * into the work dir, checking CHECKSUM (may be NULL): *ret_path is the
 * file, *ret_name the file name the URL gives (caller frees both).
 * xadd_archives replaces each local archive among SEL's entries from index
 * BEFORE on by its content extracted below DEST (source index I names the
 * temp dir), owners as the archive has them unless CHOWN (then UID:GID),
 * MODE applied when >= 0. */
int xfetch_url(struct xctx *x, const char *url, const char *checksum, const struct build_plan_instr *in,
               char **ret_path, char **ret_name, struct err **err);
int xadd_archives(struct xctx *x, struct sel *sel, size_t before, size_t i, const char *dest, bool chown, int64_t uid,
                  int64_t gid, int32_t mode, const struct build_plan_instr *in, struct err **err);

/* The destination (exec-copy-dest.c).  xdest_plan_get plans DEST
 * (absolute, clean; DEST_DIR: written with a trailing slash) in J's stage
 * into *ret (release with xdest_plan_clear).  ximage_id is the in-image
 * uid (GID: gid) of host id ID of a snapshot file.  xsearchable: can every
 * dir on the way to PATH, in every layer of S, be searched from here? */
int xdest_plan_get(const struct copy_job *j, const char *dest, bool dest_dir, struct dest_plan *ret, struct err **err);
void xdest_plan_clear(struct dest_plan *p);
int64_t ximage_id(const struct copy_job *j, bool gid, uint32_t id);
bool xsearchable(struct xstage *s, const char *path);

#endif
