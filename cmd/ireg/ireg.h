/* ireg verbs. */
#ifndef CMD_IREG_IREG_H
#define CMD_IREG_IREG_H

/* Each takes argv starting at the verb and returns the exit code. */
int ireg_serve(int argc, char **argv);
int ireg_gc(int argc, char **argv);

#endif
