/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests of output: what a writer printed, as one string. capture()
 * gives a stream whose text is in `text` once it is closed.
 */
#ifndef KSM_TEXT_CAPTURE_H
#define KSM_TEXT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

static char *text;
static size_t text_len;

static inline FILE *capture(void)
{
	free(text);
	text = NULL;
	return open_memstream(&text, &text_len);
}

#endif /* KSM_TEXT_CAPTURE_H */
