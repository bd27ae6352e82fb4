// SPDX-License-Identifier: GPL-2.0
/* ksmctl: reading a whole BPF map (see bpf_map.h). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>

#include "bpf_map.h"

int map_read_all(int fd, void **keysp, void **valuesp, size_t *np)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), count;
	size_t n = 0, cap = 0, chunk = 1024;
	char *keys = NULL, *values = NULL;
	__u64 batch_in, batch_out;
	void *in = NULL;
	int err = 0;

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return -errno;
	for (;;) {
		if (n + chunk > cap) {
			char *k = realloc(keys, (cap = n + chunk) * info.key_size);
			char *v = k ? realloc(values, cap * info.value_size) : NULL;

			if (k)
				keys = k;
			if (!v) {
				err = -ENOMEM;
				break;
			}
			values = v;
		}
		count = chunk;
		if (bpf_map_lookup_batch(fd, in, &batch_out, keys + n * info.key_size,
					 values + n * info.value_size, &count, NULL)) {
			err = -errno;
			if (err == -ENOSPC && !count) {
				/* A hash bucket holds more than a chunk: read more at once. */
				chunk *= 2;
				err = 0;
				continue;
			}
		}
		n += count;
		if (err) {
			if (err == -ENOENT)	/* the end */
				err = 0;
			break;
		}
		batch_in = batch_out;
		in = &batch_in;
	}
	if (err) {
		free(keys);
		free(values);
		return err;
	}
	*keysp = keys;
	*valuesp = values;
	*np = n;
	return 0;
}
