using System.Runtime.InteropServices;

namespace Owlbox.Datasets;

/// <summary>The path the operating system means: absolute, every symbolic link on the way followed, <c>..</c> and
/// <c>.</c> gone (POSIX <c>realpath</c>). Null when nothing is there.</summary>
public static partial class CanonicalPath
{
    public static string? Of(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            var full = Path.GetFullPath(path);
            return File.Exists(full) || Directory.Exists(full) ? full : null;
        }
        var resolved = RealPath(path, 0);
        if (resolved == 0)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}
