// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_skew.ko, built only for the lab (KVMSCOPE_SKEW=y): the whole
 * module with a schema hash that differs from the headers', so the lab
 * can prove that kvmscoped refuses a module it does not match.
 */
#define KVMSCOPE_SCHEMA_SKEW 1
#include "main.c"
#include "canary.c"
#include "exits.c"
