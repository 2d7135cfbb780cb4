// semiexit STATUS: ends the emulation with STATUS as qemu-system-aarch64's exit status, through
// the Arm semihosting SYS_EXIT call (qemu runs with -semihosting-config enable=on,userspace=on).
// A guest poweroff or panic makes qemu exit 0 whatever happened; this is how a failure gets out.
// Static, no libc: called as the last step of /init.

static long parse(const char *s)
{
    long v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return v;
}

__attribute__((noreturn)) static void semihost_exit(long status)
{
    // AArch64 SYS_EXIT (0x18) takes a pointer to {reason, subcode}; reason
    // ADP_Stopped_ApplicationExit (0x20026) makes qemu exit with subcode as its status.
    long block[2] = { 0x20026, status };
    register long x0 __asm__("x0") = 0x18;
    register long *x1 __asm__("x1") = block;
    for (;;) __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
}

__attribute__((noreturn)) void _start_c(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    semihost_exit(argc > 1 ? parse(argv[1]) : 1);
}

__asm__(".global _start\n_start:\n mov x0, sp\n b _start_c\n");
