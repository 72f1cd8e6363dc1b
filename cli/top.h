/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvmscopectl top: a live, per-VM view of KVM exits (curses), or plain
 * text snapshots with --once / -b.
 */
#ifndef KVMSCOPECTL_TOP_H
#define KVMSCOPECTL_TOP_H

#include <stdio.h>

#include "kvmscopectl.h"

/* The verb: parses its own options from c->argv. Returns the exit code. */
int verb_top(struct cli *c);

/* The "Top options:" part of kvmscopectl's help. */
void top_usage(FILE *f);

#endif
