using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    /// <summary>
    /// The fields of struct stat that identify a file version. x86-64 and arm64 (asm-generic) lay them out at the
    /// same offsets: st_ino 8, st_size 48, st_mtim 88 (the structs are 144 and 128 bytes; this one is sized for both).
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    internal struct Stat
    {
        [FieldOffset(8)] public ulong Inode;
        [FieldOffset(48)] public long Size;
        [FieldOffset(88)] public long ModifiedSeconds;
        [FieldOffset(96)] public long ModifiedNanoseconds;
    }

    /// <summary>stat(2); glibc exports it as a function since 2.33 (the binary needs 2.34 anyway).</summary>
    [LibraryImport(Library, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int stat(string path, Stat* buffer);
}
