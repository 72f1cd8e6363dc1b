/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exits capability, inside: its state and the functions its files
 * share.  load.c chooses, loads (or adopts pinned) and attaches the BPF
 * programs; read.c reads and cleans the kernel maps; model.c folds and
 * indexes records; exits.c builds the snapshot on the tick and follows
 * VMs; view.c answers exits.get; metrics.c writes Prometheus families.
 */
#ifndef KVMSCOPE_EXITS_INTERNAL_H
#define KVMSCOPE_EXITS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "bpfstats.h"
#include "capability.h"
#include "exits/model.h"
#include "kvmscope/exits.h"
#include "kvmscope/kmod.h"
#include "strbuf.h"

struct manager;
struct vm;
struct exits_bpf;
struct bpf_link;
struct bpf_map;
struct ring_buffer;
struct slot_ref;

struct field_check {
	const char *field;
	int offset, size;
};

struct exits_probe {
	const char *category, *event, *prog_name;
	const char *btf_prog_name;	/* tp_btf program, NULL if none */
	const char *btf_backup_name;	/* its backup (struct kvmscope_slot.done), NULL if none */
	bool fentry;			/* prog_name is an fentry program on function @event */
	unsigned int view;		/* enum collect_view it serves; 0: the counts */
	bool btf_vcpu_arg;		/* the tp_btf program reads arg 0 as struct kvm_vcpu * */
	bool kmod;			/* served by kvmscope.ko (--driver), not BPF */
	const char *absent;		/* not on this architecture: why (never attached) */
	struct field_check fields[3];
	char name[64];			/* "tp_btf/kvm_exit", "tracepoint/kvm/kvm_exit" */
	bool use_btf;			/* load the tp_btf program, not the classic one */
	bool not_needed;		/* left out by design; reason says why */
	bool available, attached;
	char reason[200];
	struct bpf_link *link;
	struct bpf_link *backup_link;	/* attached after link, where backups run */
};

#define N_PROBES_MAX 16

/* Indexes in the probe table, for what depends on one probe. */
enum { PROBE_KVM_EXIT, PROBE_USERSPACE_EXIT, PROBE_PIO, PROBE_IOCTL, PROBE_KVM_ENTRY,
       PROBE_DEV_IOCTL };

/* The counts of a VM whose process exited, kept until it is forgotten. */
struct exited_vm {
	uint64_t vm_id;
	struct exit_table t;	/* sorted like the snapshot */
	uint64_t dropped[KVMSCOPE_DROP_MAX];
	json_t *kvm_stats;	/* the last debugfs read while it ran, or NULL */
};

/*
 * What the tick read: every live record, folded and sorted by pid, with
 * rates over the last interval.  Requests and scrapes read only this.
 */
struct exits_snapshot {
	struct exit_table live;
	uint64_t taken_usec;		/* CLOCK_MONOTONIC */
	double interval_s;		/* since the previous snapshot, 0 for the first */
	uint64_t drops[KVMSCOPE_DROP_MAX];	/* host-wide */
	uint64_t fallbacks[KVMSCOPE_FALLBACK_MAX];	/* exits counted in the hash maps, why */
	uint32_t *drop_pids;		/* VMs with drops (sorted), and theirs */
	uint64_t (*drop_counts)[KVMSCOPE_DROP_MAX];
	size_t n_drop_pids;
	struct vm_gen *gens;		/* by pid: what each VM's records look like */
	size_t n_gens;
	bool gens_valid;		/* NULL gens with this false: none could be made */
};

/*
 * The text of one VM's records in exits.get (records_json's members, no
 * braces), kept while the VM's generation says they are the same.
 */
struct vm_text {
	uint64_t vm_id, gen;
	unsigned int top;		/* --detail-top it was made with */
	bool summary;
	char *text;
	size_t len;
};

struct exits_state {
	struct manager *m;
	struct exits_bpf *skel;
	struct exits_probe probes[N_PROBES_MAX];
	bool loaded;
	char load_error[200];
	bool vcpu_btf;		/* kernel BTF has struct kvm_vcpu */
	/* exits_fast.bpf.o: bpf_rdonly_cast() reads; its *_backup programs are loaded too. */
	bool fast_reads;
	bool backups_wanted;	/* ... and attached: newer kernel, or a run was skipped */
	char reads_note[200];
	int ncpus;
	/* Pinned state: where, and whether this daemon adopted a previous one's. */
	char pin_dir[200];
	int pin_lock_fd;
	bool pinned, adopted;
	char pin_note[320];
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	bool consuming;			/* inside ring_buffer__consume() */
	struct exits_snapshot snap;
	/* Arrays kept from tick to tick: the next snapshot, the fold's, the flush's. */
	struct exit_table spare, fold_scratch, flush_table;
	/* The slot table, mapped (read.c): n_slots of slot_size bytes. */
	/* kvmscope.ko's counters (--driver; kexits.c), mapped read-only. */
	const struct kvmscope_kexits_header *kmod_hdr;
	size_t kmod_map_len;
	int kmod_fd;			/* the kmod capability's device; -1: not used */
	uint32_t kmod_probes;		/* bits of enum kvmscope_kexits_probe it serves */
	struct slot_ref *kmod_slot_refs;
	uint32_t kmod_slots_used;
	uint64_t kmod_stream_tail;	/* the module's stream events read */
	bool kmod_fatal;		/* --driver kmod and the module cannot serve */
	char kmod_note[480];		/* how or why not */
	void *slots;
	size_t slots_len, slot_size;
	uint32_t n_slots, slots_used;
	struct slot_ref *slot_refs;	/* n_slots, reused by every read (read.c) */
	/* One batch of a map walk (read.c), reused by every walk. */
	void *batch_keys, *batch_values;
	size_t batch_key_size, batch_value_size;
	struct exited_vm *exited;	/* sorted by vm_id */
	size_t n_exited;
	uint32_t isas_seen;		/* bit per enum kvmscope_isa seen in kvm_exit */
	sd_event_source *stream_timer;	/* drains exit_stream while streaming */
	/* What the kernel's stream_pids holds (sorted), while streaming by pid. */
	uint32_t stream_pids[STREAM_FILTER_MAX_PIDS];
	size_t n_stream_pids;
	/* VMs whose process exited since the last flush: snapshotted together. */
	struct { uint64_t vm_id; uint32_t pid; } *pending_exits;
	size_t n_pending_exits;
	sd_event_source *flush_source;
	struct kvm_stats_cache *kvm_stats;	/* last debugfs read per live VM */
	size_t n_kvm_stats;
	bool kvm_stats_denied;		/* debugfs refused the last read (lockdown) */
	size_t kvm_stats_cursor;	/* where the next tick's reads start in the registry */
	struct bpfstats bpf_cost;	/* the attached programs' run time (bpfcost.c) */
	uint64_t gen_counter;		/* the last struct vm_gen.gen given */
	struct vm_text *texts;		/* view.c's, sorted by (vm_id, summary) */
	size_t n_texts, cap_texts;
};

struct kvm_stats_cache {
	uint64_t vm_id;
	json_t *stats;		/* {"source", "values"} or {"error"} */
};

extern const char *const exits_drop_names[KVMSCOPE_DROP_MAX];
extern const char *const exits_fallback_names[KVMSCOPE_FALLBACK_MAX];

/* load.c */
int exits_probe(struct manager *m, void **state);
int exits_attach(void *state);
json_t *exits_describe(void *state);
/* Hardware exits are counted at kvm_exit (not a software backend). */
bool exits_hw_counted(const struct exits_state *st);
void exits_free(void *state);

/* Called for each entry: @key, @value (all CPUs of a per-CPU map); < 0 stops. */
typedef int (*exits_entry_fn)(struct exits_state *st, const void *key, const void *value, void *ctx);
/* Every entry of @map, a batch of 4,096 at a time through one reused buffer. */
int exits_map_walk(struct exits_state *st, struct bpf_map *map, exits_entry_fn fn, void *ctx);

/* read.c: every record of the kernel maps, folded; the drop counters. */
int exits_read_all(struct exits_state *st, struct exit_table *t);
void exits_read_drops(struct exits_state *st, struct exits_snapshot *snap);
/* Map the slot table; on a fresh load, put every slot on the free list. */
int exits_slots_open(struct exits_state *st);
void exits_slots_close(struct exits_state *st);

/* kexits.c: the exits kvmscope.ko counts (--driver). */
void exits_kmod_start(struct exits_state *st);
void exits_kmod_mark(struct exits_state *st);
int exits_kmod_read_fallback(struct exits_state *st, struct exit_table *t);
void exits_kmod_free_pids(struct exits_state *st, const uint32_t *pids, size_t n);
void exits_kmod_close(struct exits_state *st);
json_t *exits_kmod_describe(struct exits_state *st);
/* The module's exit stream: its filter (NULL: off), reading it, its counts. */
void exits_kmod_stream_set(struct exits_state *st, const struct stream_filter *f);
void exits_kmod_drain(struct exits_state *st, int (*fn)(void *ctx, void *data, size_t len), void *ctx);
void exits_kmod_stream_counts(const struct exits_state *st, uint64_t *submitted, uint64_t *dropped);
/* Delete every key of the processes @pids (sorted) from every map, free their slots. */
void exits_delete_pids(struct exits_state *st, const uint32_t *pids, size_t n);
uint64_t exits_percpu_sum(struct exits_state *st, int map_fd, const void *key);

/* exits.c */
int exits_ringbuf_open(struct exits_state *st);
/* Everything exits.c owns in @st (not the BPF object or the links). */
void exits_state_release(struct exits_state *st);
void exits_flush_exited(struct exits_state *st);
/* The records of @vm (live: from the snapshot; exited: its own), and its drops. */
const struct exit_record *exits_vm_records(struct exits_state *st, const struct vm *vm,
					   size_t *n, const uint64_t **dropped);
/* KVM's debugfs statistics of @vm, as the tick last read them. */
json_t *exits_vm_kvm_stats(struct exits_state *st, const struct vm *vm);
void exits_kvm_stats_forget(struct exits_state *st, uint64_t vm_id);

/* @vm's generation: 0 when there is none (keep nothing made of its records). */
uint64_t exits_vm_gen(const struct exits_state *st, const struct vm *vm);

/* view.c */
extern const struct rpc_method exits_methods[];
/* Drop the text kept for @vm_id; every VM's with @vm_id 0. */
void exits_view_forget(struct exits_state *st, uint64_t vm_id);

/* metrics.c */
int exits_metrics(void *state, struct strbuf *sb);

/* bpfcost.c: the attached programs' BPF run time, read on the tick. */
void exits_bpf_cost_read(struct exits_state *st);
/* load.c: attach probe @p's backup program (when loaded and wanted). */
void exits_attach_backup(struct exits_state *st, struct exits_probe *p);
json_t *exits_bpf_cost_json(struct exits_state *st);
/* Its programs, for the manager's /metrics (capability_ops.bpf_cost). */
const struct bpfstats *exits_bpf_cost(void *state);

#endif
