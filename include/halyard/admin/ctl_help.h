/*
 * ctl_help.h: halyardctl's list of commands and the help of each.
 *
 * The commands come from one place each: those halyard answers from the
 * admin socket's table (admin_verbs[] in admin_cmd.c: their words, usage
 * and description), those halyardctl runs itself (help, restore, backup
 * verify) from ctl_help.c's own rows. ctl_help.c adds only an example for
 * each of halyard's commands (a test checks each has one), so no list of
 * commands is kept twice, and `--help`, `help COMMAND`, the refusal of an
 * unknown command and the man page's list (tested against `--help`) stay
 * the same list.
 */
#ifndef HALYARD_CTL_HELP_H
#define HALYARD_CTL_HELP_H

#include <stdio.h>

#include "halyard/core/core.h"

/* Every command, one line each ("  USAGE  SUMMARY"), in the order of the
 * admin socket's table, then halyardctl's own. */
void ctl_help_list(FILE *out);
/* The same as one line of JSON: {"commands":[{"usage","description",
 * "runs_in" ("halyard" or "halyardctl"),"example"}]}. */
void ctl_help_list_json(FILE *out);

/* `halyardctl help WORDS...`: each command whose words start with
 * words[0..n) explained (usage, what it does, where it runs, an example),
 * or with `json` the same as ctl_help_list_json's rows of those commands;
 * 0, or 2 having said on stderr that there is none. */
int ctl_help_show(FILE *out, int n, char **words, bool json);

/* Whether words[0..n) start like a command (halyard's, listed or not, or
 * halyardctl's own); false: unknown, nothing is sent. */
bool ctl_help_known(int n, char **words);

/* The example of halyard's command `words` ("show backends"); NULL when
 * it has none. For the unit test. */
const char *ctl_help_example(const char *words);

#endif /* HALYARD_CTL_HELP_H */
