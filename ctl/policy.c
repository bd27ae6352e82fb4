// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl policy: load, replace, unload and show the BPF policy of ksmd.
 *
 * A policy is a ksm_policy_ops struct_ops map in a BPF object file. It is
 * attached through a BPF link pinned at /sys/fs/bpf/ksm/policy: the pin keeps
 * it attached after ksmctl exits, replace updates that link (the kernel swaps
 * policies with no gap), unload detaches it. The policy's own maps (settings,
 * counters) are pinned under /sys/fs/bpf/ksm/policy_maps/ for bpftool; tracing
 * programs in its object are attached with it, their links pinned under
 * /sys/fs/bpf/ksm/policy_links/.
 *
 * A memory cgroup's policy (cgroup PATH) is the same under
 * /sys/fs/bpf/ksm/cgroup/ID/, ID the cgroup's id; its link targets the
 * cgroup (BPF_F_CGROUP_FD), which bpftool link show gives too.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cgroup_fs.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "policy_progs.h"
#include "policy_tunables.h"
#include "stats_bpf.h"

#define POLICY_MAPS_DIR "policy_maps"	/* the policy's other maps, for bpftool */
#define POLICY_LINKS_DIR "policy_links"	/* its tracing programs, attached with it */
#define POLICY_MAX_LINKS 16
#define POLICY_TYPE "ksm_policy_ops"
#define POLICY_NAME_MAX 64	/* ksm_policy_ops.name */
#define CGROUPS_DIR "cgroup"	/* the memory cgroups' policies, by cgroup id */

/* Where a policy attaches: for every process, or for a memory cgroup. */
struct policy_at {
	bool cgroup;
	struct cgroup_ref cg;	/* the cgroup, when one */
	char prefix[64];	/* its pins under ksm_bpffs_dir: "" or "cgroup/ID/" */
};

struct load_opts {
	const char *file;	/* or, for a policy built into ksmctl, its label */
	const char *map;	/* map MAP: which ksm_policy_ops map */
	const char *name;	/* name NAME: the name the kernel shows */
	const char *cgroup;	/* cgroup PATH: a memory cgroup's policy */
	const char *set;	/* set NAME=VALUE,...: its tunables, before load */
};

/* The pin @leaf of the policy at @at, under ksm_bpffs_dir. */
static const char *at_pin(const struct policy_at *at, char *buf, size_t len, const char *leaf)
{
	char rel[PATH_MAX / 2];

	snprintf(rel, sizeof(rel), "%s%s", at->prefix, leaf);
	return bpffs_path(buf, len, rel);
}

static void at_unpin_dir(const struct policy_at *at, const char *leaf)
{
	char rel[PATH_MAX / 2];

	snprintf(rel, sizeof(rel), "%s%s", at->prefix, leaf);
	unpin_dir(rel);
}

/* A memory cgroup's pins: the policy gone, its directories go too. */
static void at_remove_dirs(const struct policy_at *at)
{
	char dir[PATH_MAX];

	if (!at->cgroup)
		return;
	rmdir(at_pin(at, dir, sizeof(dir), ""));
	rmdir(bpffs_path(dir, sizeof(dir), CGROUPS_DIR));
}

/* The name of the policy attached at @at, "" for none: 0 or -errno. */
static int at_name(const struct policy_at *at, char *buf, size_t len)
{
	if (!at->cgroup)
		return policy_current(buf, len);
	return cgroup_policy_of(at->cg.path, buf, len);
}

/* Why the last policy at @at stopped, for messages. */
static const char *at_exit(const struct policy_at *at, char *buf, size_t len)
{
	if (at->cgroup ? cgroup_file_read(at->cg.dir, CGROUP_POLICY_EXIT_FILE, buf, len) :
	    knob_read("policy_exit", buf, len))
		snprintf(buf, len, "unknown");
	return buf;
}

/* What the policy is for, in messages: "" or " of cgroup /a". */
static const char *at_what(const struct policy_at *at, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", at->cgroup ? " of cgroup " : "", at->cgroup ? at->cg.path : "");
	return buf;
}

/* The attachment of the memory cgroup with id @id: its pins are under cgroup/ID/. */
static void at_set_cgroup(struct policy_at *at, unsigned long long id)
{
	at->cgroup = true;
	snprintf(at->prefix, sizeof(at->prefix), "%s/%llu/", CGROUPS_DIR, id);
}

/*
 * @cgroup (NULL: the global policy) as an attachment; a cgroup must be a
 * memory cgroup with the kernel's policy file.
 */
static int policy_at_resolve(const char *cgroup, struct policy_at *at)
{
	char file[PATH_MAX + 32];
	int err;

	memset(at, 0, sizeof(*at));
	if (!cgroup)
		return 0;
	err = cgroup_resolve(cgroup, &at->cg) ?: cgroup_ksm_files_check(&at->cg);
	if (err)
		return err;
	snprintf(file, sizeof(file), "%s/%s", at->cg.dir, CGROUP_POLICY_FILE);
	if (access(file, F_OK))
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no policies per memory "
			    "cgroup (no %s)", file);
	at_set_cgroup(at, at->cg.id);
	return 0;
}

/* 0 when the kernel has ksm_policy_ops, else a message and EXIT_UNSUPPORTED. */
static int check_kernel(void)
{
	char name[POLICY_NAME_MAX + 8];
	struct btf *vmlinux;
	int id;

	if (access(ksm_sysfs_dir, F_OK))
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no KSM (%s is missing)",
			    ksm_sysfs_dir);
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF), "
			    "which BPF policies need");
	id = btf__find_by_name_kind(vmlinux, POLICY_TYPE, BTF_KIND_STRUCT);
	btf__free(vmlinux);
	if (id < 0 || policy_current(name, sizeof(name)))
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no %s (it needs the ksm-bpf "
			    "series with CONFIG_KSM_BPF_POLICY=y)", POLICY_TYPE);
	return 0;
}

/* What an ELF file is for, when it is not BPF: "x86-64", or its number. */
static const char *elf_machine(unsigned int machine, char *buf, size_t len)
{
	static const struct { unsigned int machine; const char *name; } names[] = {
		{ EM_X86_64, "x86-64" }, { EM_386, "i386" }, { EM_AARCH64, "arm64" },
		{ EM_ARM, "arm" }, { EM_RISCV, "riscv" }, { EM_PPC64, "powerpc64" },
		{ EM_S390, "s390" }, { EM_MIPS, "mips" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].machine == machine)
			return names[i].name;
	snprintf(buf, len, "machine %u", machine);
	return buf;
}

/*
 * A usage error unless @file is a whole ELF relocatable object for BPF in
 * this machine's byte order: each other case named, before libbpf sees it.
 */
static int check_file(const char *file)
{
	const unsigned char native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB :
				     ELFDATA2MSB;
	char machine[32];
	struct stat st;
	Elf64_Ehdr eh;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(EXIT_USAGE, "policy: %s: %s", file, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(EXIT_USAGE, "policy: %s: not a file: give a BPF object file (.bpf.o)",
			    file);
	}
	n = read(fd, &eh, sizeof(eh));
	close(fd);
	if (n < 0)
		return fail(EXIT_USAGE, "policy: %s: %s", file, strerror(errno));
	if (n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail(EXIT_USAGE, "policy: %s: %s, not a BPF object file (build it with clang "
			    "-target bpf)", file, n ? "not ELF" : "empty");
	if ((size_t)n < sizeof(eh))
		return fail(EXIT_USAGE, "policy: %s: truncated: %zd bytes, less than an ELF header",
			    file, n);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return fail(EXIT_USAGE, "policy: %s: a 32-bit ELF file, not a BPF object file "
			    "(build it with clang -target bpf)", file);
	if (eh.e_ident[EI_DATA] != native) {
		if (eh.e_machine == __builtin_bswap16(EM_BPF))
			return fail(EXIT_USAGE, "policy: %s: a BPF object for the other byte order "
				    "(clang -target %s): this machine needs -target bpf", file,
				    native == ELFDATA2LSB ? "bpfeb" : "bpfel");
		return fail(EXIT_USAGE, "policy: %s: an ELF file of the other byte order, not a "
			    "BPF object file (build it with clang -target bpf)", file);
	}
	if (eh.e_machine != EM_BPF)
		return fail(EXIT_USAGE, "policy: %s: an ELF file for %s, not a BPF object file "
			    "(build it with clang -target bpf)", file,
			    elf_machine(eh.e_machine, machine, sizeof(machine)));
	if (eh.e_type != ET_REL)
		return fail(EXIT_USAGE, "policy: %s: a BPF ELF file but not an object file (clang "
			    "-c makes one)", file);
	if (eh.e_shoff > (unsigned long long)st.st_size ||
	    (unsigned long long)eh.e_shnum * eh.e_shentsize > st.st_size - eh.e_shoff)
		return fail(EXIT_USAGE, "policy: %s: truncated: its section headers are past its "
			    "end (%lld bytes)", file, (long long)st.st_size);
	return 0;
}

static bool is_policy_map(struct bpf_object *obj, struct bpf_map *map)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t;

	if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS || !btf)
		return false;
	t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
	return t && !strcmp(btf__name_by_offset(btf, t->name_off), POLICY_TYPE);
}

/* Where the field @field is in the map's initial value (the struct), or NULL. */
static char *policy_field(struct bpf_object *obj, struct bpf_map *map, const char *field)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
	const struct btf_member *m = btf_members(t);
	char *data = bpf_map__initial_value(map, NULL);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), field))
			return data + m->offset / 8;
	return NULL;
}

/* Set the policy's name (the struct's "name"). */
static int set_policy_name(struct bpf_object *obj, struct bpf_map *map, const char *name)
{
	char *field = policy_field(obj, map, "name");

	if (strlen(name) >= POLICY_NAME_MAX || !*name)
		return fail(EXIT_USAGE, "policy: name: 1 to %d characters", POLICY_NAME_MAX - 1);
	if (!field)
		return fail(EXIT_USAGE, "policy: %s has no name field", POLICY_TYPE);
	memset(field, 0, POLICY_NAME_MAX);
	memcpy(field, name, strlen(name));
	return 0;
}

/*
 * What the kernel may refuse in @map with EINVAL: bits of the ops' flags
 * this ksmctl does not know (a kernel may know more). Into @buf, "" if none.
 */
static const char *unknown_flags(struct bpf_object *obj, struct bpf_map *map, char *buf,
				 size_t len)
{
	const char *field = policy_field(obj, map, "flags");
	__u64 flags = 0;
	int i, at;

	buf[0] = '\0';
	if (field)
		memcpy(&flags, field, sizeof(flags));
	flags &= ~POLICY_FLAGS_KNOWN;
	if (!flags)
		return buf;
	at = snprintf(buf, len, "; %s.flags has bit(s) %#llx unknown to ksmctl and "
		      "probably to this kernel (ksmctl knows:", POLICY_TYPE,
		      (unsigned long long)flags);
	for (i = 0; i < POLICY_FLAGS && at > 0 && (size_t)at < len; i++)
		at += snprintf(buf + at, len - at, " %s", policy_flag_names[i]);
	if (at > 0 && (size_t)at < len)
		snprintf(buf + at, len - at, ")");
	return buf;
}

/*
 * Open @o->file and pick its policy map (only that one will be created).
 * On success *objp and *mapp are set; the object is not loaded yet.
 */
static int policy_open(const struct load_opts *o, struct bpf_object **objp,
		       struct bpf_map **mapp)
{
	struct bpf_map *map, *chosen = NULL;
	char names[256] = "";
	struct bpf_object *obj;
	int count = 0, err = 0;

	obj = bpf_object__open_file(o->file, NULL);
	if (!obj)
		return fail(EXIT_USAGE, "policy: %s: cannot open as a BPF object: %s", o->file,
			    bpf_strerror(errno));
	bpf_object__for_each_map(map, obj) {
		if (!is_policy_map(obj, map)) {
			if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
				bpf_map__set_autocreate(map, false);
			continue;
		}
		count++;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 count > 1 ? ", " : "", bpf_map__name(map));
		if (o->map ? !strcmp(bpf_map__name(map), o->map) : count == 1)
			chosen = map;
		else
			bpf_map__set_autocreate(map, false);
	}
	if (!count)
		err = fail(EXIT_USAGE, "policy: %s: no %s struct_ops map (declare the policy with "
			   "KSM_POLICY() from ksm_policy.bpf.h)", o->file, POLICY_TYPE);
	else if (o->map && !chosen)
		err = fail(EXIT_USAGE, "policy: %s: no %s map named '%s' (it has: %s)", o->file,
			   POLICY_TYPE, o->map, names);
	else if (count > 1 && !o->map)
		err = fail(EXIT_USAGE, "policy: %s defines %d policies (%s): choose one with 'map MAP'",
			   o->file, count, names);
	else if (!(bpf_map__map_flags(chosen) & BPF_F_LINK))
		err = fail(EXIT_USAGE, "policy: %s: map '%s' is declared without a BPF link, which "
			   "the kernel refuses (declare it with KSM_POLICY() from ksm_policy.bpf.h)",
			   o->file, bpf_map__name(chosen));
	else if (o->name)
		err = set_policy_name(obj, chosen, o->name);
	if (!err && o->set)
		err = policy_set_tunables(obj, o->file, o->set);
	if (err) {
		bpf_object__close(obj);
		return err;
	}
	*objp = obj;
	*mapp = chosen;
	return 0;
}

/*
 * What libbpf says while it loads a policy: the program the verifier
 * rejected and the last line of its log, the reason.
 */
static struct {
	libbpf_print_fn_t prev;
	char prog[128];
	char reason[256];
	bool in_log;
} load_log;

static void load_log_line(const char *line)
{
	const char *p;

	if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
		load_log.in_log = true;
		load_log.reason[0] = '\0';
	} else if (strstr(line, "-- END PROG LOAD LOG --")) {
		load_log.in_log = false;
	} else if (load_log.in_log) {
		/* The verifier's summary lines follow the reason. */
		if (*line && strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17))
			snprintf(load_log.reason, sizeof(load_log.reason), "%s", line);
	} else if ((p = strstr(line, "prog '")) && strstr(line, "BPF program load failed")) {
		p += strlen("prog '");
		snprintf(load_log.prog, sizeof(load_log.prog), "%.*s", (int)strcspn(p, "'"), p);
	}
}

static int load_log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *text = NULL, *line, *save;
	va_list copy;

	/* The verifier's log comes as one message, however long. */
	va_copy(copy, ap);
	if (vasprintf(&text, fmt, copy) < 0)
		text = NULL;
	va_end(copy);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		load_log_line(line);
	free(text);
	return load_log.prev ? load_log.prev(level, fmt, ap) : 0;
}

static int policy_load_obj(struct bpf_object *obj, const char *file)
{
	int err;

	memset(&load_log, 0, sizeof(load_log));
	load_log.prev = libbpf_set_print(load_log_print);
	err = bpf_object__load(obj) ? errno : 0;
	libbpf_set_print(load_log.prev);
	if (!err)
		return 0;
	if (*load_log.prog)
		return fail(EXIT_FAIL, "policy: %s: the verifier rejected its program %s: %s%s",
			    file, load_log.prog, *load_log.reason ? load_log.reason : bpf_strerror(err),
			    debug_output ? "" : " (--debug shows the verifier log)");
	return fail(EXIT_FAIL, "policy: %s: the kernel refused to load it: %s%s", file,
		    bpf_strerror(err), debug_output ? "" : " (--debug shows libbpf's messages)");
}

/* The tracing programs of a policy object, attached along with the policy. */
struct policy_links {
	struct bpf_link *link[POLICY_MAX_LINKS];
	const char *name[POLICY_MAX_LINKS];
	int n;
};

static void detach_policy_progs(struct policy_links *pl)
{
	while (pl->n)
		bpf_link__destroy(pl->link[--pl->n]);
}

static int attach_policy_progs(struct bpf_object *obj, struct policy_links *pl)
{
	struct bpf_program *prog;

	pl->n = 0;
	bpf_object__for_each_program(prog, obj) {
		enum bpf_prog_type type = bpf_program__type(prog);

		if (!bpf_program__autoload(prog) || type == BPF_PROG_TYPE_STRUCT_OPS ||
		    type == BPF_PROG_TYPE_SYSCALL)
			continue;
		if (pl->n == POLICY_MAX_LINKS) {
			detach_policy_progs(pl);
			return fail(EXIT_USAGE, "policy: more than %d programs to attach with it",
				    POLICY_MAX_LINKS);
		}
		pl->link[pl->n] = bpf_program__attach(prog);
		if (!pl->link[pl->n]) {
			int err = errno;

			detach_policy_progs(pl);
			return fail(EXIT_FAIL, "policy: cannot attach its program %s: %s",
				    bpf_program__name(prog), strerror(err));
		}
		pl->name[pl->n++] = bpf_program__name(prog);
	}
	return 0;
}

/* Pin the links (in place of the last policy's); all or none. */
static int pin_policy_links(const struct policy_at *at, struct policy_links *pl)
{
	char dir[PATH_MAX / 2], path[PATH_MAX];
	int i;

	at_unpin_dir(at, POLICY_LINKS_DIR);
	if (!pl->n)
		return 0;
	if (mkdir(at_pin(at, dir, sizeof(dir), POLICY_LINKS_DIR), 0700))
		return fail(EXIT_FAIL, "policy: cannot create %s: %s", dir, strerror(errno));
	for (i = 0; i < pl->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pl->name[i]);
		if (bpf_link__pin(pl->link[i], path)) {
			int err = errno;

			at_unpin_dir(at, POLICY_LINKS_DIR);
			return fail(EXIT_FAIL, "policy: cannot pin %s: %s", path, strerror(err));
		}
	}
	return 0;
}

/* Pin the loaded object's maps but the policy itself; all or none. */
static int pin_policy_maps(const struct policy_at *at, struct bpf_object *obj)
{
	char dir[PATH_MAX / 2], path[PATH_MAX];
	struct bpf_map *map;
	const char *name;

	at_unpin_dir(at, POLICY_MAPS_DIR);
	if (mkdir(at_pin(at, dir, sizeof(dir), POLICY_MAPS_DIR), 0700))
		return fail(EXIT_FAIL, "policy: cannot create %s: %s", dir, strerror(errno));
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS || !bpf_map__autocreate(map))
			continue;
		/*
		 * libbpf names the global variables' maps "<object>.bss" (the
		 * object's name cut at 8): here they are just "bss", "data",
		 * "rodata". bpffs refuses dots in names: other dots become '_'.
		 */
		name = bpf_map__name(map);
		if (strchr(name, '.'))
			name = strchr(name, '.') + 1;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		for (char *c = path + strlen(dir) + 1; *c; c++)
			if (*c == '.')
				*c = '_';
		if (bpf_map__pin(map, path)) {
			int err = errno;

			at_unpin_dir(at, POLICY_MAPS_DIR);
			return fail(EXIT_FAIL, "policy: cannot pin %s: %s", path, strerror(err));
		}
	}
	return 0;
}


/* The name the kernel shows: 1 to POLICY_NAME_MAX - 1 characters. */
static int parse_name(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!*text || strlen(text) >= POLICY_NAME_MAX) {
		snprintf(err, errlen, "'%.*s%s' is not 1 to %d characters", 16, text,
			 strlen(text) > 16 ? "..." : "", POLICY_NAME_MAX - 1);
		return -1;
	}
	return args_string(a, text, err, errlen);
}

/* FILE [map MAP] [name NAME] [cgroup PATH] */
static int parse_load_args(int argc, char **argv, struct load_opts *o, const char *cmd)
{
	struct arg args[] = {
		{ .keyword = "map", .parse = args_string, .dest = &o->map },
		{ .keyword = "name", .parse = parse_name, .dest = &o->name },
		{ .keyword = "cgroup", .parse = args_string, .dest = &o->cgroup },
		{ .keyword = "set", .parse = args_string, .dest = &o->set },
	};

	memset(o, 0, sizeof(*o));
	if (argc < 1)
		return cmd_usage_error("policy", cmd, "needs a BPF object file");
	o->file = argv[0];
	return args_parse("policy", cmd, args, ARGS_N(args), argc - 1, argv + 1);
}

static void print_done(const char *what, const char *name, const char *detail)
{
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, what, json_object_new_string(name));
		if (detail)
			json_object_object_add(o, "detail", json_object_new_string(detail));
		json_print(o);
	} else {
		printf("%s %s%s%s\n", what, name, detail ? ": " : "", detail ?: "");
	}
}

/* Make the directory of a memory cgroup's pins. */
static int at_prepare(const struct policy_at *at)
{
	char dir[PATH_MAX];

	if (!at->cgroup)
		return 0;
	if ((mkdir(bpffs_path(dir, sizeof(dir), CGROUPS_DIR), 0700) && errno != EEXIST) ||
	    (mkdir(at_pin(at, dir, sizeof(dir), ""), 0700) && errno != EEXIST))
		return fail(EXIT_FAIL, "policy: cannot create %s: %s", dir, strerror(errno));
	return 0;
}

/* Everything pinned for the policy at @at, gone. */
static void at_unpin_all(const struct policy_at *at)
{
	char pin[PATH_MAX];

	at_unpin_dir(at, POLICY_LINKS_DIR);
	at_unpin_dir(at, POLICY_MAPS_DIR);
	unlink(at_pin(at, pin, sizeof(pin), POLICY_PIN));
	at_remove_dirs(at);
}

/*
 * The pins of memory cgroups removed since: their policy was disabled then
 * (the kernel says why in the log); the links go now.
 */
static void prune_removed_cgroups(void)
{
	char dir[PATH_MAX];
	struct policy_at at = { 0 };
	struct dirent *d;
	DIR *dp;

	dp = opendir(bpffs_path(dir, sizeof(dir), CGROUPS_DIR));
	while (dp && (d = readdir(dp))) {
		char path[CGROUP_PATH_LEN];

		if (d->d_name[0] == '.')
			continue;
		cgroup_path_of_id(strtoull(d->d_name, NULL, 10), path, sizeof(path));
		if (path[0] == '/')
			continue;
		at_set_cgroup(&at, strtoull(d->d_name, NULL, 10));
		at_unpin_all(&at);
	}
	if (dp)
		closedir(dp);
}

/*
 * The cgroup @link attaches its policy to (0: globally), or -1 if the
 * kernel does not say.
 */
static long long link_cgroup_id(const struct bpf_link *link)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_link_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return -1;
	return info.struct_ops.cgroup_id;
}

/*
 * Attach @map where @at says: globally, or with a link that targets the
 * memory cgroup. Never globally instead of in a cgroup: a kernel that
 * would ignore the target (one whose BPF links cannot name a cgroup) has
 * the link detached at once, with EOPNOTSUPP.
 */
static struct bpf_link *attach_policy(struct bpf_map *map, const struct policy_at *at)
{
	LIBBPF_OPTS(bpf_struct_ops_opts, opts, .flags = BPF_F_CGROUP_FD);
	struct bpf_link *link;
	int fd, err;

	if (!at->cgroup)
		return bpf_map__attach_struct_ops(map);
	fd = open(at->cg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	opts.target_fd = fd;
	link = bpf_map__attach_struct_ops_opts(map, &opts);
	err = errno;
	close(fd);
	if (link && link_cgroup_id(link) != (long long)at->cg.id) {
		bpf_link__destroy(link);
		link = NULL;
		err = EOPNOTSUPP;
	}
	errno = err;
	return link;
}

/* Load, attach and pin the policy of @o; on failure nothing is left behind. */
static int load_policy(const struct load_opts *o, const struct policy_at *at)
{
	char pin[PATH_MAX], name[POLICY_NAME_MAX + 8], exit_msg[512], what[CGROUP_PATH_LEN + 16];
	char hint[160];
	struct policy_links pl = { .n = 0 };
	struct bpf_object *obj = NULL;
	struct bpf_link *link = NULL;
	struct bpf_map *map;
	bool started = false;
	int err;

	err = check_kernel() ?: policy_open(o, &obj, &map);
	if (err)
		return err;
	at_what(at, what, sizeof(what));
	at_pin(at, pin, sizeof(pin), POLICY_PIN);
	if (!access(pin, F_OK)) {
		at_name(at, name, sizeof(name));
		err = fail(EXIT_FAIL, "policy: a policy%s is loaded already (%s): use 'ksmctl policy "
			   "replace' or 'ksmctl policy unload'", what, *name ? name : pin);
		goto out;
	}
	err = policy_load_obj(obj, o->file) ?: bpffs_prepare() ?: at_prepare(at) ?:
	      pin_policy_maps(at, obj) ?: attach_policy_progs(obj, &pl);
	if (err)
		goto fail;
	link = attach_policy(map, at);
	if (!link) {
		err = errno;
		at_name(at, name, sizeof(name));
		if (err == EOPNOTSUPP && at->cgroup)
			err = fail(EXIT_FAIL, "policy: this kernel cannot attach a policy to a memory "
				   "cgroup (its BPF links take no cgroup target)");
		else if (err == EBUSY)
			err = fail(EXIT_FAIL, "policy: another program attached policy '%s'%s (not "
				   "ksmctl): detach it there first", name, what);
		else if (err == EINVAL && *unknown_flags(obj, map, hint, sizeof(hint)))
			err = fail(EXIT_FAIL, "policy: the kernel refused to attach %s%s: %s%s",
				   o->file, what, strerror(err), hint);
		else if (err == EINVAL && at->cgroup)
			err = fail(EXIT_FAIL, "policy: the kernel refused to attach %s%s: %s (a "
				   "cgroup's policy may not have pass_start or pass_end: ksmd's pace "
				   "is global)", o->file, what, strerror(err));
		else
			err = fail(EXIT_FAIL, "policy: the kernel refused to attach %s%s: %s (%s)",
				   o->file, what, strerror(err),
				   at_exit(at, exit_msg, sizeof(exit_msg)));
		goto fail;
	}
	err = pin_policy_links(at, &pl);
	if (!err && bpf_link__pin(link, pin))
		err = fail(EXIT_FAIL, "policy: cannot pin the policy at %s: %s", pin,
			   strerror(errno));
	if (err)
		goto fail;
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	detach_policy_progs(&pl);	/* the pins keep them */
	at_name(at, name, sizeof(name));
	if (stats_enable_quiet(&started))
		fprintf(stderr, "ksmctl: warning: the policy is loaded but statistics could "
			"not be started ('ksmctl stats enable' says why)\n");
	strncat(name, what, sizeof(name) - strlen(name) - 1);
	print_done("loaded", name, started ? "statistics collection started" : NULL);
	goto out;
fail:
	/* Not pinned: detach rather than leave a policy nobody can unload. */
	bpf_link__destroy(link);
	detach_policy_progs(&pl);
	at_unpin_all(at);
out:
	bpf_object__close(obj);
	return err;
}

static int do_load(int argc, char **argv)
{
	struct policy_at at;
	struct load_opts o;
	int err;

	err = parse_load_args(argc, argv, &o, "load") ?: require_admin("policy load") ?:
	      check_file(o.file) ?: policy_at_resolve(o.cgroup, &at);
	if (err)
		return err;
	prune_removed_cgroups();
	return load_policy(&o, &at);
}

static int do_replace(int argc, char **argv)
{
	char pin[PATH_MAX], old[POLICY_NAME_MAX + 8], name[POLICY_NAME_MAX + 8];
	char what[CGROUP_PATH_LEN + 16], hint[160];
	struct policy_links pl = { .n = 0 };
	struct bpf_object *obj = NULL;
	struct bpf_link *link;
	struct policy_at at;
	struct bpf_map *map;
	struct load_opts o;
	int err;

	err = parse_load_args(argc, argv, &o, "replace") ?: require_admin("policy replace") ?:
	      check_file(o.file) ?: check_kernel() ?: policy_at_resolve(o.cgroup, &at);
	if (err)
		return err;
	prune_removed_cgroups();
	at_what(&at, what, sizeof(what));
	link = bpf_link__open(at_pin(&at, pin, sizeof(pin), POLICY_PIN));
	if (!link)
		return fail(EXIT_FAIL, "policy: no policy%s loaded by ksmctl to replace (%s: %s): "
			    "use 'ksmctl policy load'", what, pin, strerror(errno));
	at_name(&at, old, sizeof(old));
	err = policy_open(&o, &obj, &map) ?: policy_load_obj(obj, o.file) ?:
	      attach_policy_progs(obj, &pl);
	if (!err && bpf_link__update_map(link, map)) {
		int update_err = errno;

		err = fail(EXIT_FAIL, "policy: the kernel refused the replacement%s: %s%s; '%s' stays",
			   what, strerror(update_err),
			   update_err == EINVAL ? unknown_flags(obj, map, hint, sizeof(hint)) : "",
			   old);
		detach_policy_progs(&pl);
	}
	/* The old policy's maps and programs go with it. */
	if (!err && (pin_policy_maps(&at, obj) || pin_policy_links(&at, &pl)))
		fprintf(stderr, "ksmctl: warning: the policy was replaced, but its maps or "
			"programs are not pinned\n");
	detach_policy_progs(&pl);
	if (!err) {
		char detail[POLICY_NAME_MAX + 32];

		at_name(&at, name, sizeof(name));
		snprintf(detail, sizeof(detail), "replaced %s", old);
		strncat(name, what, sizeof(name) - strlen(name) - 1);
		print_done("loaded", name, detail);
	}
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return err;
}

static int do_unload(int argc, char **argv)
{
	char pin[PATH_MAX], name[POLICY_NAME_MAX + CGROUP_PATH_LEN + 16], exit_msg[512];
	char what[CGROUP_PATH_LEN + 16];
	const char *cgroup = NULL;
	struct policy_at at;
	int fd, err;
	struct arg args[] = {
		{ .keyword = "cgroup", .parse = args_string, .dest = &cgroup },
	};

	err = args_parse("policy", "unload", args, ARGS_N(args), argc, argv) ?:
	      require_admin("policy unload") ?: policy_at_resolve(cgroup, &at);
	if (err)
		return err;
	prune_removed_cgroups();
	at_what(&at, what, sizeof(what));
	at_pin(&at, pin, sizeof(pin), POLICY_PIN);
	fd = bpf_obj_get(pin);
	if (fd < 0) {
		at_name(&at, name, sizeof(name));
		if (*name)
			return fail(EXIT_FAIL, "policy: '%s'%s was not loaded by ksmctl (no %s): "
				    "detach it where it was attached", name, what, pin);
		return fail(EXIT_FAIL, "policy: no policy%s is loaded", what);
	}
	at_name(&at, name, sizeof(name));
	/* Detach now, even if someone else holds the link open. */
	if (bpf_link_detach(fd) && errno != EOPNOTSUPP) {
		err = fail(EXIT_FAIL, "policy: cannot detach %s: %s", name, strerror(errno));
		close(fd);
		return err;
	}
	close(fd);
	at_unpin_dir(&at, POLICY_MAPS_DIR);
	at_unpin_dir(&at, POLICY_LINKS_DIR);
	if (unlink(pin))
		return fail(EXIT_FAIL, "policy: detached, but cannot remove %s: %s", pin,
			    strerror(errno));
	at_remove_dirs(&at);
	strncat(name, what, sizeof(name) - strlen(name) - 1);
	print_done("unloaded", name, at_exit(&at, exit_msg, sizeof(exit_msg)));
	return EXIT_OK;
}

/* The policy's maps pinned for bpftool: into @obj (JSON) or printed. */
static void show_policy_maps(const struct policy_at *at, json_object *obj)
{
	json_object *arr = obj ? json_object_new_array() : NULL;
	char dir[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	dp = opendir(at_pin(at, dir, sizeof(dir), POLICY_MAPS_DIR));
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (arr)
			json_object_array_add(arr, json_object_new_string(d->d_name));
		else
			printf("  map %s/%s\n", dir, d->d_name);
	}
	if (dp)
		closedir(dp);
	if (obj)
		json_object_object_add(obj, "maps", arr);
}

/* The ops' flags by name (a bit this ksmctl does not know, in hex): into @obj or printed. */
static void show_policy_flags(__u64 flags, json_object *obj)
{
	json_object *arr = obj ? json_object_new_array() : NULL;
	char bit[32];
	int i;

	if (!arr)
		printf("  flags");
	for (i = 0; i < 64; i++) {
		const char *name = bit;

		if (!(flags & (1ULL << i)))
			continue;
		if (POLICY_FLAGS_KNOWN & (1ULL << i))
			name = policy_flag_names[i];
		else
			snprintf(bit, sizeof(bit), "0x%llx", 1ULL << i);
		if (arr)
			json_object_array_add(arr, json_object_new_string(name));
		else
			printf(" %s", name);
	}
	if (arr)
		json_object_object_add(obj, "flags", arr);
	else
		printf("%s\n", flags ? "" : " none");
}

/* The policy at @at: a JSON object, or printed (NULL). */
static json_object *show_one(const struct policy_at *at)
{
	char name[POLICY_NAME_MAX + 8], exit_msg[512], when[64] = "", pin[PATH_MAX];
	json_object *obj = NULL, *jhooks = NULL;
	struct policy_progs p;
	int i;

	at_name(at, name, sizeof(name));
	at_exit(at, exit_msg, sizeof(exit_msg));
	if (policy_progs_read_pin(at_pin(at, pin, sizeof(pin), POLICY_PIN), &p) == -EACCES &&
	    *name && geteuid())
		fprintf(stderr, "ksmctl: warning: %s: permission denied (run as root for details)\n",
			p.pin);
	if (p.pinned)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&p.attached));

	if (json_output) {
		obj = json_object_new_object();
		if (at->cgroup) {
			json_object_object_add(obj, "cgroup", json_object_new_string(at->cg.path));
			json_object_object_add(obj, "cgroup_id", json_object_new_uint64(at->cg.id));
		}
		json_object_object_add(obj, "name", *name ? json_object_new_string(name) : NULL);
		json_object_object_add(obj, "pinned", json_object_new_boolean(p.pinned));
		if (p.pinned) {
			json_object_object_add(obj, "link_id", json_object_new_int64(p.link_id));
			json_object_object_add(obj, "map_id", json_object_new_int64(p.map_id));
			json_object_object_add(obj, "attached", json_object_new_string(when));
			json_object_object_add(obj, "run_stats",
					       json_object_new_boolean(p.run_stats));
			show_policy_flags(p.flags, obj);
			jhooks = json_object_new_object();
			json_object_object_add(obj, "hooks", jhooks);
		}
		json_object_object_add(obj, "last_exit", json_object_new_string(exit_msg));
	} else if (!*name) {
		printf("%s%s: none\n", at->cgroup ? "cgroup " : "policy", at->cg.path);
	} else {
		printf("%s%s: %s\n", at->cgroup ? "cgroup " : "policy", at->cg.path, name);
		if (p.pinned) {
			printf("  link %u  struct_ops map %u  attached %s  pinned %s\n", p.link_id,
			       p.map_id, when, p.pin);
			show_policy_flags(p.flags, NULL);
		} else
			printf("  not loaded by ksmctl (no %s)\n", p.pin);
	}
	for (i = 0; p.pinned && i < POLICY_HOOKS; i++) {
		const struct policy_prog *h = &p.hook[i];
		unsigned long long avg = h->run_cnt ? h->run_time_ns / h->run_cnt : 0;

		if (!h->id)
			continue;
		if (jhooks) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "prog_id", json_object_new_int64(h->id));
			json_object_object_add(o, "prog_name", json_object_new_string(h->name));
			if (p.run_stats) {
				json_object_object_add(o, "run_cnt", json_object_new_int64(h->run_cnt));
				json_object_object_add(o, "avg_ns", json_object_new_int64(avg));
			}
			json_object_object_add(jhooks, policy_hooks[i], o);
		} else if (p.run_stats) {
			printf("  %-10s prog %-5u %-24s runs %-10llu avg %llu ns\n", policy_hooks[i],
			       h->id, h->name, (unsigned long long)h->run_cnt, avg);
		} else {
			printf("  %-10s prog %-5u %s\n", policy_hooks[i], h->id, h->name);
		}
	}
	show_policy_maps(at, obj);
	if (!obj) {
		if (p.pinned && !p.run_stats)
			printf("  (run counts: sysctl kernel.bpf_stats_enabled=1)\n");
		printf("%slast exit: %s\n", at->cgroup ? "  " : "", exit_msg);
	}
	return obj;
}

/* Every memory cgroup with a policy attached or a last exit to tell. */
struct cgroup_policies {
	json_object *arr;	/* NULL: print */
};

static int show_cgroup_policy(const char *path, void *arg)
{
	struct cgroup_policies *cp = arg;
	char name[POLICY_NAME_MAX + 8] = "", exit_msg[512] = "";
	struct policy_at at = { .cgroup = true };
	json_object *o;

	if (!strcmp(path, "/"))
		return 0;
	snprintf(at.cg.path, sizeof(at.cg.path), "%s", path);
	cgroup_dir_of(path, at.cg.dir, sizeof(at.cg.dir));
	if (at_name(&at, name, sizeof(name)))
		return 0;	/* no memory controller there */
	cgroup_file_read(at.cg.dir, CGROUP_POLICY_EXIT_FILE, exit_msg, sizeof(exit_msg));
	if (!*name && !strcmp(exit_msg, "none"))
		return 0;
	if (cgroup_resolve(path, &at.cg))
		return 0;
	at_set_cgroup(&at, at.cg.id);
	o = show_one(&at);
	if (cp->arr)
		json_object_array_add(cp->arr, o);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct cgroup_policies cp = { NULL };
	struct policy_at global;
	char name[POLICY_NAME_MAX + 8];
	json_object *obj;

	if (argc)
		return args_parse("policy", "show", NULL, 0, argc, argv);
	if (access(ksm_sysfs_dir, F_OK))
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no KSM");
	if (policy_current(name, sizeof(name)) == -ENOENT)
		return fail(EXIT_UNSUPPORTED, "policy: this kernel has no %s (it needs the ksm-bpf "
			    "series with CONFIG_KSM_BPF_POLICY=y)", POLICY_TYPE);
	policy_at_resolve(NULL, &global);
	obj = show_one(&global);
	if (obj)
		cp.arr = json_object_new_array();
	cgroup_walk(show_cgroup_policy, &cp);
	if (obj) {
		json_object_object_add(obj, "cgroups", cp.arr);
		json_print(obj);
	}
	return EXIT_OK;
}

static void policy_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl policy load FILE.bpf.o [map MAP] [name NAME] [cgroup PATH]\n"
		"                                      [set NAME=VALUE[,NAME=VALUE...]]\n"
		"       ksmctl policy replace FILE.bpf.o [map MAP] [name NAME] [cgroup PATH]\n"
		"                                         [set NAME=VALUE[,NAME=VALUE...]]\n"
		"       ksmctl policy unload [cgroup PATH]\n"
		"       ksmctl policy show\n"
		"\n"
		"       FILE.bpf.o defines a %s struct_ops map; map chooses one of\n"
		"       several, name sets the name the kernel shows, set its tunables\n"
		"       (const volatile globals: a number, or true/false). The policy is pinned\n"
		"       at %s/%s and stays attached after ksmctl exits. With cgroup it\n"
		"       decides for the processes of that memory cgroup and below (the\n"
		"       nearest cgroup's policy decides, else the global one), pinned under\n"
		"       %s/%s/ID/.\n",
		POLICY_TYPE, ksm_bpffs_dir, POLICY_PIN, ksm_bpffs_dir, CGROUPS_DIR);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	policy_help();
	return EXIT_OK;
}

int do_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "load", do_load },
		{ "replace", do_replace },
		{ "unload", do_unload },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, "policy", argc, argv);
}
