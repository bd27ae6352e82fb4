/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The w2 layout of bench/ksm_converge.c, shared with bench/w2_bound.bpf.c,
 * the policy that is told it: page i of a process's area is of the kind
 * i mod 4.
 */
#ifndef W2_LAYOUT_H
#define W2_LAYOUT_H

enum w2_kind { W2_DUPLICATE, W2_ZERO, W2_REWRITTEN, W2_UNIQUE };

static inline enum w2_kind w2_kind_of(unsigned long i)
{
	return i % 4;
}

#endif /* W2_LAYOUT_H */
