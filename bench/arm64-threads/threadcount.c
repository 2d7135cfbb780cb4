/*
 * QEMU TCG plugin (user mode): instructions executed per guest thread, and per marked region of a thread.
 * In qemu-user every guest thread is a vCPU, so the per-vCPU count is the per-thread count.
 *
 * Regions: the guest calls syscall(4242, id) before and syscall(4243, id) after a piece of work (Cnn.Bench
 * `chunks ... --markers`); QEMU answers the unknown syscalls with ENOSYS and this plugin adds the instructions
 * that the calling thread executed in between to region id. A thread's regions may nest (up to 8 deep).
 * Counting is per translation block (attributed when the block starts), so a region also holds the few
 * instructions of the marker calls themselves: Cnn.Bench emits empty regions (id 0xFFFFFF) to measure that cost.
 *
 * At exit it prints "thread V insns N" per vCPU and "region ID insns N calls C" per region (summed over threads).
 * Built by bench/arm64-threads.sh against the qemu-plugin.h that ../shared/tools/arm64-insn-count unpacks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_VCPUS 64
#define MARK_BEGIN 4242
#define MARK_END 4243

#define MAX_DEPTH 8

typedef struct {
    uint64_t insns;                   /* written by this vCPU's thread only */
    int depth;                        /* open regions */
    int64_t region[MAX_DEPTH];        /* their ids */
    uint64_t region_start[MAX_DEPTH]; /* insns at their begin markers */
} Vcpu;

typedef struct {
    uint64_t insns, calls;
} Region;

static Vcpu vcpus[MAX_VCPUS];
static GHashTable *regions; /* id -> Region*, under lock */
static GMutex lock;

static inline Vcpu *vcpu(unsigned int i) { return &vcpus[i < MAX_VCPUS ? i : MAX_VCPUS - 1]; }

static void tb_exec(unsigned int cpu, void *udata)
{
    vcpu(cpu)->insns += (uintptr_t)udata;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int cpu)
{
    vcpu(cpu)->depth = 0;
}

static void syscall_cb(qemu_plugin_id_t id, unsigned int cpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    Vcpu *v = vcpu(cpu);
    if (num == MARK_BEGIN && v->depth < MAX_DEPTH) {
        v->region[v->depth] = (int64_t)a1;
        v->region_start[v->depth++] = v->insns;
    } else if (num == MARK_END && v->depth > 0 && v->region[v->depth - 1] == (int64_t)a1) {
        v->depth--;
        g_mutex_lock(&lock);
        Region *r = g_hash_table_lookup(regions, GINT_TO_POINTER((gint)a1));
        if (!r) {
            r = g_new0(Region, 1);
            g_hash_table_insert(regions, GINT_TO_POINTER((gint)a1), r);
        }
        r->insns += v->insns - v->region_start[v->depth];
        r->calls++;
        g_mutex_unlock(&lock);
    }
}

static gint by_key(gconstpointer a, gconstpointer b)
{
    gint x = GPOINTER_TO_INT(a), y = GPOINTER_TO_INT(b);
    return x < y ? -1 : x > y;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    GString *out = g_string_new("");
    for (int i = 0; i < MAX_VCPUS; i++)
        if (vcpus[i].insns)
            g_string_append_printf(out, "thread %d insns %" PRIu64 "\n", i, vcpus[i].insns);
    GList *keys = g_list_sort(g_hash_table_get_keys(regions), by_key);
    for (GList *k = keys; k; k = k->next) {
        Region *r = g_hash_table_lookup(regions, k->data);
        g_string_append_printf(out, "region %d insns %" PRIu64 " calls %" PRIu64 "\n", GPOINTER_TO_INT(k->data), r->insns, r->calls);
    }
    g_list_free(keys);
    qemu_plugin_outs(out->str);
    g_string_free(out, TRUE);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    regions = g_hash_table_new(g_direct_hash, g_direct_equal);
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, syscall_cb);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}
