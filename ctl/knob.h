/* SPDX-License-Identifier: GPL-2.0 */
/* ksmctl knob: the writable KSM knobs and what values they take. */
#ifndef KSMCTL_KNOB_H
#define KSMCTL_KNOB_H

#include <stddef.h>

enum knob_kind {
	KNOB_NUMBER,	/* a whole number in [min, max] */
	KNOB_CHOICE,	/* one of choices[] */
};

struct knob_def {
	const char *name;
	enum knob_kind kind;
	unsigned long long min, max;
	const char *const *choices;
	const char *help;
};

/* The writable knob @name, or NULL (read-only or unknown). */
const struct knob_def *knob_find(const char *name);
/* 0 if @value may be written to @name; else -1 with a message in @err. */
int knob_validate(const char *name, const char *value, char *err, size_t errlen);

#endif /* KSMCTL_KNOB_H */
