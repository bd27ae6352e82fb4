// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl policy load ... set NAME=VALUE: see policy_tunables.h. A tunable is
 * found by its name in the BTF of the object's .rodata section, which gives
 * its offset and size in the map's initial value, the bytes libbpf loads.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ksmctl.h"
#include "policy_tunables.h"

#define RODATA ".rodata"

struct tunable {
	const struct btf_var_secinfo *var;
	const struct btf_type *type;	/* its type, modifiers and typedefs resolved */
};

static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name), rlen = strlen(RODATA);

		/* libbpf names it "<object>.rodata", cut to 15 characters. */
		if (len >= rlen && !strcmp(name + len - rlen, RODATA))
			return map;
	}
	return NULL;
}

/* The names of the tunables, for the error message. */
static void list_tunables(const struct btf *btf, const struct btf_type *sec, char *buf,
			  size_t len)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(sec);
	int i;

	*buf = 0;
	for (i = 0; i < btf_vlen(sec); i++, v++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "",
			 btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off));
}

static int find_tunable(const struct btf *btf, const struct btf_type *sec, const char *name,
			struct tunable *t)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(sec);
	int i;

	for (i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		t->var = v;
		t->type = btf__type_by_id(btf, btf__resolve_type(btf, var->type));
		return 0;
	}
	return -ENOENT;
}

/* @text as the value of @t, into @out (little- or big-endian: the host's). */
static int parse_value(const struct tunable *t, const char *text, uint64_t *out)
{
	bool is_bool = btf_is_int(t->type) && (btf_int_encoding(t->type) & BTF_INT_BOOL);
	bool is_signed = btf_is_int(t->type) && (btf_int_encoding(t->type) & BTF_INT_SIGNED);
	unsigned int bits = t->var->size * 8;
	char *end;

	if (!(btf_is_int(t->type) || btf_is_enum(t->type)) || t->var->size > 8)
		return -EINVAL;
	if (is_bool) {
		if (!strcmp(text, "true") || !strcmp(text, "1"))
			*out = 1;
		else if (!strcmp(text, "false") || !strcmp(text, "0"))
			*out = 0;
		else
			return -ERANGE;
		return 0;
	}
	errno = 0;
	if (is_signed) {
		long long v = strtoll(text, &end, 0);
		long long max = bits == 64 ? INT64_MAX : (1LL << (bits - 1)) - 1;

		if (errno || !*text || *end || v > max || v < -max - 1)
			return -ERANGE;
		*out = (uint64_t)v;
	} else {
		unsigned long long v = strtoull(text, &end, 0);

		if (errno || !*text || *end || *text == '-' ||
		    (bits < 64 && v >> bits))
			return -ERANGE;
		*out = v;
	}
	return 0;
}

static int set_one(const char *file, const struct btf *btf, const struct btf_type *sec,
		   char *data, char *assignment)
{
	char *eq = strchr(assignment, '='), names[512];
	struct tunable t;
	uint64_t value;
	int err;

	if (!eq || eq == assignment)
		return fail(EXIT_USAGE, "policy: set: '%s' is not NAME=VALUE", assignment);
	*eq = 0;
	if (find_tunable(btf, sec, assignment, &t)) {
		list_tunables(btf, sec, names, sizeof(names));
		return fail(EXIT_USAGE, "policy: set: %s has no tunable '%s' (it has: %s)", file,
			    assignment, *names ? names : "none");
	}
	err = parse_value(&t, eq + 1, &value);
	if (err == -EINVAL)
		return fail(EXIT_USAGE, "policy: set: %s's '%s' is not a number or a bool", file,
			    assignment);
	if (err)
		return fail(EXIT_USAGE, "policy: set: '%s' for %s: not a value of its %u-byte %s",
			    eq + 1, assignment, t.var->size,
			    btf_int_encoding(t.type) & BTF_INT_BOOL ? "bool (true or false)" :
			    "integer");
	/* The host's byte order is the program's: both run on this machine. */
	switch (t.var->size) {
	case 1: { uint8_t v = value; memcpy(data + t.var->offset, &v, 1); break; }
	case 2: { uint16_t v = value; memcpy(data + t.var->offset, &v, 2); break; }
	case 4: { uint32_t v = value; memcpy(data + t.var->offset, &v, 4); break; }
	default: memcpy(data + t.var->offset, &value, 8); break;
	}
	return 0;
}

int policy_set_tunables(struct bpf_object *obj, const char *file, const char *assignments)
{
	struct bpf_map *map = rodata_map(obj);
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec = NULL;
	char *copy, *item, *save = NULL;
	size_t size = 0;
	char *data;
	int id, err = 0;

	if (btf && (id = btf__find_by_name_kind(btf, RODATA, BTF_KIND_DATASEC)) > 0)
		sec = btf__type_by_id(btf, id);
	data = map ? bpf_map__initial_value(map, &size) : NULL;
	if (!sec || !data)
		return fail(EXIT_USAGE, "policy: set: %s has no tunables (no const volatile "
			    "globals)", file);
	if (!*assignments || strstr(assignments, ",,") || *assignments == ',' ||
	    assignments[strlen(assignments) - 1] == ',')
		return fail(EXIT_USAGE, "policy: set: '%s' is not NAME=VALUE[,NAME=VALUE...]",
			    assignments);
	copy = strdup(assignments);
	if (!copy)
		return fail(EXIT_FAIL, "policy: out of memory");
	for (item = strtok_r(copy, ",", &save); item && !err; item = strtok_r(NULL, ",", &save))
		err = set_one(file, btf, sec, data, item);
	free(copy);
	return err;
}
