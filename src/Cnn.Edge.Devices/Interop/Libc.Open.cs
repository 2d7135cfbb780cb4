using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    /// <summary>open(2) without O_CREAT (so the variadic mode argument is never read). Returns the int
    /// descriptor: a SafeHandle return would read a 64-bit register and miss the 32-bit -1.</summary>
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    /// <summary>Opens <paramref name="path"/>; the handle is invalid (and errno kept) on failure.</summary>
    internal static FileDescriptorHandle Open(string path, int flags) => new(open(path, flags));
}
