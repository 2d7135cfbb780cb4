using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    /// <summary>open(2) without O_CREAT (so the variadic mode argument is never read).</summary>
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial FileDescriptorHandle open(string path, int flags);
}
