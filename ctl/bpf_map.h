/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a whole BPF map, for the commands that show what maps hold. */
#ifndef KSMCTL_BPF_MAP_H
#define KSMCTL_BPF_MAP_H

#include <stddef.h>

/*
 * Every entry of the map @fd, read with BPF_MAP_LOOKUP_BATCH: a few system
 * calls for the whole map, and a walk that neither restarts nor repeats
 * while entries come and go (as one by next keys does when its key is
 * deleted). *keys and *values are arrays of *n entries of the map's key
 * and value sizes; free() them. 0 or -errno.
 */
int map_read_all(int fd, void **keys, void **values, size_t *n);

#endif /* KSMCTL_BPF_MAP_H */
