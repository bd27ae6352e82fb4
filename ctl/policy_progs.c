// SPDX-License-Identifier: GPL-2.0
/* ksmctl: the programs of the attached policy (see policy_progs.h). */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "policy_progs.h"

int policy_current(char *name, size_t len)
{
	int err = knob_read("policy", name, len);

	if (!err && !strcmp(name, "none"))
		name[0] = '\0';
	return err;
}

const char *const policy_hooks[POLICY_HOOKS] = {
	"scan_mm", "scan_vma", "scan_page", "merge", "pass_start", "pass_end", "init", "exit",
};

const char *const policy_flag_names[POLICY_FLAGS] = { "override_smart_scan" };

/*
 * Program ids per hook and the ops' flags from the struct_ops map's value
 * (the kernel puts the ids there); a kernel whose ops have no flags gives 0.
 */
static int read_ops_value(__u32 map_id, __u32 ids[], int n, __u64 *flags)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	const struct btf_member *m;
	const struct btf_type *t;
	struct btf *vmlinux;
	int fd, i, err = -ENOENT;
	void *value;

	fd = bpf_map_get_fd_by_id(map_id);
	if (fd < 0 || bpf_map_get_info_by_fd(fd, &info, &len))
		return -errno;
	value = calloc(1, info.value_size);
	vmlinux = btf__load_vmlinux_btf();
	if (!value || !vmlinux || bpf_map_lookup_elem(fd, &key, value))
		goto out;
	/* The value is struct bpf_struct_ops_ksm_policy_ops; its "data" is ours. */
	t = btf__type_by_id(vmlinux, info.btf_vmlinux_value_type_id);
	for (i = 0, m = t ? btf_members(t) : NULL; m && i < btf_vlen(t); i++, m++) {
		const struct btf_type *data;
		const struct btf_member *h;
		int j, k;

		if (strcmp(btf__name_by_offset(vmlinux, m->name_off), "data"))
			continue;
		data = btf__type_by_id(vmlinux, m->type);
		for (j = 0, h = btf_members(data); j < btf_vlen(data); j++, h++) {
			const char *name = btf__name_by_offset(vmlinux, h->name_off);
			char *at = (char *)value + (m->offset + h->offset) / 8;

			if (!strcmp(name, "flags"))
				memcpy(flags, at, sizeof(*flags));
			for (k = 0; k < n; k++)
				if (!strcmp(name, policy_hooks[k]))
					ids[k] = *(unsigned long *)at;
		}
		err = 0;
	}
out:
	btf__free(vmlinux);
	free(value);
	close(fd);
	return err;
}

/* The program's whole function name (the kernel's copy is cut at 15 characters). */
static void prog_full_name(int fd, const struct bpf_prog_info *pinfo, char *buf, size_t len)
{
	struct bpf_func_info finfo = {};
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	const struct btf_type *t;
	struct btf *btf = NULL;

	snprintf(buf, len, "%s", pinfo->name);
	if (!pinfo->btf_id || !pinfo->nr_func_info)
		return;
	info.nr_func_info = 1;
	info.func_info_rec_size = sizeof(finfo);
	info.func_info = (__u64)(unsigned long)&finfo;
	if (bpf_prog_get_info_by_fd(fd, &info, &ilen))
		return;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	t = btf ? btf__type_by_id(btf, finfo.type_id) : NULL;
	if (t && btf_is_func(t))
		snprintf(buf, len, "%s", btf__name_by_offset(btf, t->name_off));
	btf__free(btf);
}

static bool bpf_run_stats_on(void)
{
	char buf[8] = "0";
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '0';
		close(fd);
	}
	return buf[0] == '1';
}

int policy_progs_read(struct policy_progs *p)
{
	char pin[PATH_MAX];

	return policy_progs_read_pin(bpffs_path(pin, sizeof(pin), POLICY_PIN), p);
}

int policy_progs_read_pin(const char *pin, struct policy_progs *p)
{
	struct bpf_link_info link = {};
	__u32 len = sizeof(link), ids[POLICY_HOOKS] = {};
	struct stat st;
	int fd, i;

	memset(p, 0, sizeof(*p));
	snprintf(p->pin, sizeof(p->pin), "%s", pin);
	p->run_stats = bpf_run_stats_on();
	fd = bpf_obj_get(p->pin);
	if (fd < 0)
		return -errno;
	p->pinned = true;
	if (!stat(p->pin, &st))
		p->attached = st.st_ctime;
	if (!bpf_link_get_info_by_fd(fd, &link, &len)) {
		p->link_id = link.id;
		p->map_id = link.struct_ops.map_id;
		read_ops_value(link.struct_ops.map_id, ids, POLICY_HOOKS, &p->flags);
	}
	close(fd);
	for (i = 0; i < POLICY_HOOKS; i++) {
		struct bpf_prog_info info = {};
		__u32 ilen = sizeof(info);
		int pfd;

		p->hook[i].id = ids[i];
		if (!ids[i])
			continue;
		pfd = bpf_prog_get_fd_by_id(ids[i]);
		if (pfd < 0)
			continue;
		if (!bpf_prog_get_info_by_fd(pfd, &info, &ilen)) {
			prog_full_name(pfd, &info, p->hook[i].name, sizeof(p->hook[i].name));
			p->hook[i].run_cnt = info.run_cnt;
			p->hook[i].run_time_ns = info.run_time_ns;
		}
		close(pfd);
	}
	return 0;
}
