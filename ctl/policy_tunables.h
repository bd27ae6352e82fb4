/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy's tunables: its `const volatile` globals (the object's .rodata),
 * set in an opened BPF object before it is loaded, as `ksmctl policy load
 * FILE set NAME=VALUE[,NAME=VALUE...]` asks.
 */
#ifndef KSMCTL_POLICY_TUNABLES_H
#define KSMCTL_POLICY_TUNABLES_H

struct bpf_object;

/*
 * Set each NAME=VALUE of @assignments in @obj (opened, not loaded; @file
 * names it in messages). VALUE: a whole number, or true/false for a bool.
 * 0, or a usage error naming the bad assignment (an unknown name lists the
 * tunables @obj has).
 */
int policy_set_tunables(struct bpf_object *obj, const char *file, const char *assignments);

#endif /* KSMCTL_POLICY_TUNABLES_H */
